"""What every module of the Strata GDB helpers uses: errors and output,
memory reads, int and expression conversion, target checks, symbols and
source lines, option parsing, formatting.

Every error is a StrataError, which `reported` turns into one GDB error
line "COMMAND: problem" without a Python traceback."""

import re
import struct

import gdb


class StrataError(Exception):
    """A problem to report to the user as one line, without a Python trace."""


def out(text=""):
    gdb.write(text + "\n")


def reported(name, hint=None, internal_errors=False):
    """Wraps a command's invoke: problems become one-line GDB errors
    "NAME: problem". hint, if given, is called then and its text appended.
    With internal_errors, any other exception (a bug in the helper) is
    reported as "NAME: internal error (...)" too, instead of a traceback."""
    def wrap(invoke):
        def run(self, arg, from_tty):
            try:
                return invoke(self, arg, from_tty)
            except gdb.GdbError:
                raise
            except (StrataError, gdb.error) as e:
                raise gdb.GdbError("%s: %s%s" % (name, e, hint() if hint else ""))
            except Exception as e:
                if not internal_errors:
                    raise
                raise gdb.GdbError("%s: internal error (%s: %s)"
                                   % (name, type(e).__name__, e))
        return run
    return wrap


# ---- reading the target ------------------------------------------------------

def read_bytes(addr, n, hint="", any_error=False):
    """n bytes of the target's memory at addr. An unreadable address is a
    StrataError "cannot read N bytes at ADDR" + hint; with any_error, so is
    any other GDB error (no process, target running)."""
    try:
        return bytes(gdb.selected_inferior().read_memory(addr, n))
    except gdb.MemoryError:
        raise StrataError("cannot read %d bytes at 0x%08x%s" % (n, addr, hint))
    except gdb.error as e:
        if not any_error:
            raise
        raise StrataError("cannot read memory at 0x%08x: %s" % (addr, e))


def read_u32(addr):
    return struct.unpack("<I", read_bytes(addr, 4))[0]


def read_u32s(addr, count):
    return list(struct.unpack("<%dI" % count, read_bytes(addr, 4 * count)))


def pointer_bits():
    """The width of the target's pointers: 32 for the kernel, 64 for the
    host unit tests strata-buddy also reads."""
    try:
        return 8 * gdb.lookup_type("void").pointer().sizeof
    except gdb.error:
        return 32


def to_int(value, bits=32):
    """A gdb.Value as an unsigned number of `bits` bits (None: the width of
    the target's pointers). Functions and arrays give their address."""
    code = value.type.strip_typedefs().code
    if code in (gdb.TYPE_CODE_FUNC, gdb.TYPE_CODE_ARRAY):
        value = value.address
    if bits is None:
        bits = pointer_bits()
    return int(value.cast(gdb.lookup_type("unsigned long long"))) & ((1 << bits) - 1)


def eval_addr(expr):
    """A GDB expression's value as a 32-bit address."""
    try:
        return to_int(gdb.parse_and_eval(expr))
    except gdb.error as e:
        raise StrataError("cannot evaluate '%s': %s" % (expr, e))


def split_args(arg):
    try:
        return gdb.string_to_argv(arg)
    except gdb.error as e:
        raise StrataError(str(e))


def register(name):
    """A register's value, or None if the target does not have it."""
    try:
        v = gdb.parse_and_eval("$" + name)
    except gdb.error:
        return None
    if v.type.code == gdb.TYPE_CODE_VOID:	# an unknown $name is a void variable
        return None
    try:
        return int(v) & 0xFFFFFFFF
    except (gdb.error, TypeError, ValueError):
        return None


def paging_enabled():
    """cr0.PG, or True when the gdbstub does not show cr0."""
    cr0 = register("cr0")
    return cr0 is None or bool(cr0 & 0x80000000)


# ---- what GDB has --------------------------------------------------------------

NO_SYMBOLS = ("no kernel symbols are loaded: `file build/kernel.elf` "
              "(the repository's .gdbinit does it)")
NOT_CONNECTED = ("not connected to a running kernel: start `make qemu-gdb` "
                 "in another terminal, then `strata-connect`")


def need_symbols(text=NO_SYMBOLS):
    """StrataError(text) unless GDB has a program's symbols."""
    if gdb.current_progspace().filename is None:
        raise StrataError(text)


def need_target(text=NOT_CONNECTED, running=None):
    """StrataError(text) unless GDB is attached to a live target; with
    running, StrataError(running) too while the target runs."""
    inf = gdb.selected_inferior()
    if inf is None or inf.pid == 0 or not inf.threads() or gdb.selected_thread() is None:
        raise StrataError(text)
    if running is not None:
        try:
            if gdb.selected_thread().is_running():
                raise StrataError(running)
        except gdb.error:
            pass


# ---- formatting ----------------------------------------------------------------

def plural(n, word):
    """'1 page', '2 pages'."""
    return "%d %s%s" % (n, word, "" if n == 1 else "s")


def size_str(nbytes):
    """'4 KiB', '127.1 MiB', '12 B'."""
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if nbytes >= 1 << shift:
            if nbytes % (1 << shift) == 0:
                return "%d %s" % (nbytes >> shift, unit)
            return "%.1f %s" % (nbytes / float(1 << shift), unit)
    return "%d B" % nbytes


def symbol_addr(name):
    """The address of a (possibly assembly) symbol, or None."""
    try:
        return to_int(gdb.parse_and_eval("&" + name))
    except gdb.error:
        return None


def symbolize(pc):
    """'name+off' (decimal offset, as GDB prints it), or '??'."""
    try:
        s = gdb.execute("info symbol 0x%x" % pc, to_string=True).strip()
    except gdb.error:
        return "??"
    m = re.match(r"(\S+)(?: \+ (\d+))? in section", s)
    if not m:
        return "??"
    return "%s+%s" % (m.group(1), m.group(2) or "0")


def source_of(pc, is_return_address=False):
    """(file, line, text) of pc, or None. For a return address, look up the
    call instruction before it."""
    sal = gdb.find_pc_line(pc - 1 if is_return_address else pc)
    if sal.symtab is None or sal.line == 0:
        return None
    text = None
    try:
        with open(sal.symtab.fullname()) as f:
            lines = f.read().split("\n")
        if 0 < sal.line <= len(lines):
            text = lines[sal.line - 1].strip()
    except (OSError, UnicodeDecodeError, gdb.error):
        pass
    return sal.symtab.filename, sal.line, text


def parse_options(argv, flags, valued=()):
    """Splits --flag and --name=VALUE / --name VALUE options from positionals."""
    opts, pos = {}, []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a.startswith("--") and len(a) > 2:
            name, eq, val = a[2:].partition("=")
            if name in flags and not eq:
                opts[name] = True
            elif name in valued:
                if not eq:
                    i += 1
                    if i >= len(argv):
                        raise StrataError("option --%s needs a value" % name)
                    val = argv[i]
                opts[name] = val
            else:
                raise StrataError("unknown option %s" % a)
        else:
            pos.append(a)
        i += 1
    return opts, pos
