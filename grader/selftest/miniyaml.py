"""A strict parser for the subset of YAML that GitHub workflow files use
here (block mappings and sequences, plain and quoted scalars, `|` block
scalars, comments), so the tests can check tools/labgen/classroom.yml
with the standard library only.  Anything outside the subset, a tab in
the indentation, a duplicate key, a bad indentation or an unterminated
quote is a YamlError with the line number: a file this accepts is valid
YAML with the structure it returns (the converse is not promised)."""

import re


class YamlError(Exception):
    pass


_KEY = re.compile(r"""^("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s#'"{}\[\],&*!|>%@`][^:#]*?)\s*:(?:\s+|$)(.*)$""")


def _scalar(text, no):
    text = text.strip()
    if not text:
        return None
    if text[0] in "\"'":
        q = text[0]
        end = 1
        while True:
            end = text.find(q, end)
            if end < 0:
                raise YamlError("line %d: unterminated %s quote" % (no, q))
            if q == "'" and text[end + 1:end + 2] == "'":
                end += 2
                continue
            if q == '"' and text[end - 1] == "\\":
                end += 1
                continue
            break
        rest = text[end + 1:].strip()
        if rest and not rest.startswith("#"):
            raise YamlError("line %d: text after a quoted scalar: %r" % (no, rest))
        body = text[1:end]
        return body.replace("''", "'") if q == "'" else body.replace('\\"', '"')
    if text[0] in "{[&*!%@`>":
        raise YamlError("line %d: %r is outside the YAML subset checked here" % (no, text))
    # a comment starts at " #"
    m = re.search(r"\s#", text)
    if m:
        text = text[:m.start()].rstrip()
    return text


def _lines(text):
    out = []
    for no, raw in enumerate(text.split("\n"), 1):
        stripped = raw.lstrip(" ")
        if "\t" in raw[:len(raw) - len(stripped)] or stripped.startswith("\t"):
            raise YamlError("line %d: tab in indentation" % no)
        if not stripped.strip() or stripped.startswith("#"):
            out.append((no, None, raw))
            continue
        out.append((no, len(raw) - len(stripped), raw.rstrip()))
    return out


class _P:
    def __init__(self, text):
        self.lines = _lines(text)
        self.i = 0

    def peek(self):
        while self.i < len(self.lines) and self.lines[self.i][1] is None:
            self.i += 1
        return self.lines[self.i] if self.i < len(self.lines) else None

    def block(self, indent):
        first = self.peek()
        if first is None or first[1] < indent:
            return None
        ind = first[1]
        if first[2][ind:].startswith("- ") or first[2][ind:] == "-":
            return self.seq(ind)
        return self.mapping(ind)

    def literal(self, parent_indent):
        out, ind = [], None
        while self.i < len(self.lines):
            no, n, raw = self.lines[self.i]
            if n is None and raw.strip():       # a comment line: its own indentation
                n0 = len(raw) - len(raw.lstrip(" "))
                if n0 <= parent_indent:
                    break
            if n is not None and n <= parent_indent:
                break
            if n is not None:
                if ind is None:
                    ind = n
                elif n < ind:
                    raise YamlError("line %d: block scalar line less indented than its first" % no)
            out.append(raw[ind:] if ind is not None and len(raw) >= ind else "")
            self.i += 1
        while out and not out[-1].strip():
            out.pop()
        return "\n".join(out) + "\n"

    def value(self, rest, indent, no):
        rest = rest.strip()
        if rest in ("|", "|-"):
            v = self.literal(indent)
            return v.rstrip("\n") if rest == "|-" else v
        if rest == "" or rest.startswith("#"):
            nxt = self.peek()
            if nxt is not None and nxt[1] > indent:
                return self.block(nxt[1])
            if nxt is not None and nxt[1] == indent and nxt[2][indent:].startswith("- "):
                return self.seq(indent)        # a sequence under a key, not indented
            return None
        return _scalar(rest, no)

    def mapping(self, ind):
        d = {}
        while True:
            line = self.peek()
            if line is None or line[1] < ind:
                return d
            no, n, raw = line
            if n != ind:
                raise YamlError("line %d: indentation %d, expected %d" % (no, n, ind))
            body = raw[ind:]
            if body.startswith("- "):
                return d
            m = _KEY.match(body)
            if not m:
                raise YamlError("line %d: expected `key: value`, got %r" % (no, body))
            key = _scalar(m.group(1), no)
            if key in d:
                raise YamlError("line %d: duplicate key %r" % (no, key))
            self.i += 1
            d[key] = self.value(m.group(2), ind, no)

    def seq(self, ind):
        out = []
        while True:
            line = self.peek()
            if line is None or line[1] < ind:
                return out
            no, n, raw = line
            body = raw[ind:]
            if n != ind or not (body.startswith("- ") or body == "-"):
                if n > ind:
                    raise YamlError("line %d: indentation %d inside a sequence at %d" % (no, n, ind))
                return out
            item = body[2:] if body != "-" else ""
            if _KEY.match(item) and not item.startswith(("'", '"')) or \
                    (item[:1] in "'\"" and _KEY.match(item)):
                # a mapping that starts on the dash's line: re-read it indented
                self.lines[self.i] = (no, ind + 2, " " * (ind + 2) + item)
                out.append(self.mapping(ind + 2))
            else:
                self.i += 1
                out.append(self.value(item, ind, no))


def load(text):
    p = _P(text)
    doc = p.block(0)
    rest = p.peek()
    if rest is not None:
        raise YamlError("line %d: unexpected %r" % (rest[0], rest[2].strip()))
    return doc
