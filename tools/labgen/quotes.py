"""quotes: the output a handout quotes is the output the tree prints.

A handout marks a fenced code block of quoted kernel or grader output with
an HTML comment on the line before it (invisible in the rendered page):

    <!-- quote: stub -->            what a fresh lab branch prints (its stubs)
    <!-- quote: mutant NAME -->     what the reference with mutant NAME of
                                    tools/mutants/labN.mut prints

Every non-blank line of the block must appear in the output of the tests of
the lab graded in that state (their logs): a quote line matches an output
line when the line contains it, with `...` in the quote standing for any
text. tools/labgen/validate.py checks the `stub` quotes of each lab branch
it grades; tools/mutants/mutants.py --sample checks the `mutant` ones.
"""

import re

MARK = re.compile(r"^<!--\s*quote:\s*(stub|mutant\s+(\S+))\s*-->\s*$")


class Quote:
    def __init__(self, path, lineno, state, mutant, lines):
        self.path, self.lineno, self.state, self.mutant, self.lines = \
            path, lineno, state, mutant, lines

    def where(self):
        return "%s:%d" % (self.path, self.lineno)


def parse(path, text):
    """The quotes of one Markdown file; ValueError for a marker that is not
    followed by a fenced block."""
    out, lines = [], text.split("\n")
    for i, line in enumerate(lines):
        m = MARK.match(line.strip())
        if not m:
            if line.strip().startswith("<!-- quote"):
                raise ValueError("%s:%d: bad quote marker %r (<!-- quote: stub --> or "
                                 "<!-- quote: mutant NAME -->)" % (path, i + 1, line.strip()))
            continue
        if i + 1 >= len(lines) or not lines[i + 1].startswith("```"):
            raise ValueError("%s:%d: a quote marker must be followed by a ``` block" % (path, i + 1))
        body = []
        for j in range(i + 2, len(lines)):
            if lines[j].startswith("```"):
                break
            if lines[j].strip():
                body.append(lines[j].strip())
        else:
            raise ValueError("%s:%d: unclosed ``` block" % (path, i + 2))
        state = "stub" if m.group(1) == "stub" else "mutant"
        out.append(Quote(path, i + 1, state, m.group(2), body))
    return out


def _pattern(quote_line):
    return re.compile(".*".join(re.escape(p) for p in quote_line.split("...")))


def missing(quote, output_lines):
    """The lines of quote that no output line contains."""
    outs = [l.strip() for l in output_lines]
    return [q for q in quote.lines if not any(_pattern(q).search(o) for o in outs)]
