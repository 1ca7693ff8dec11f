"""Running QEMU: the process registry (so that no QEMU outlives the
grader), CPU-time accounting and the streaming run loop.  QEMU's command
line is built in qemucmd.py."""

import errno
import os
import selectors
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field

from .status import Ended
from .trace import LineSplitter, Matcher

DEBIAN_PACKAGE = "qemu-system-x86"
POLL = 0.025          # seconds between CPU-time polls / abort checks
GRACE = 1.0           # charged seconds QEMU gets to exit after TEST/panic lines
GRACE_WALL = 10.0     # ... and at most this much wall time
IDLE_CAP = 4 * POLL   # most idle time charged per poll
INPUT_WAIT = 1.0      # idle seconds at a prompt, all input sent: nothing more will come

try:
    CLK_TCK = os.sysconf("SC_CLK_TCK")
except (ValueError, OSError, AttributeError):
    CLK_TCK = 100


class Interrupted(Exception):
    """The grader got SIGINT/SIGTERM/SIGHUP."""

    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum


class Registry:
    """Every child process group the grader starts, so that all of them
    can be killed on any exit path (including from a signal handler)."""

    def __init__(self):
        self.lock = threading.RLock()
        self.procs = {}        # pid -> (Popen, gentle)
        self.aborted = None    # signal number once aborted
        self.main_spawning = False

    def spawn(self, argv, gentle=False, **kw):
        """Popen in a new session, registered atomically: a signal handler
        (which runs in the main thread and takes the lock) either sees the
        process or prevents it from starting.  While the main thread itself
        is inside Popen, the handler must not raise (the child would be
        lost): it only aborts, and the abort is noticed here."""
        in_main = threading.current_thread() is threading.main_thread()
        with self.lock:
            if self.aborted is not None:
                raise Interrupted(self.aborted)
            if in_main:
                self.main_spawning = True
            try:
                proc = subprocess.Popen(argv, start_new_session=True, close_fds=True, **kw)
                self.procs[proc.pid] = (proc, gentle)
            finally:
                if in_main:
                    self.main_spawning = False
            if self.aborted is not None:     # a signal came during Popen
                _killpg(proc.pid, signal.SIGTERM if gentle else signal.SIGKILL)
                if in_main:
                    raise Interrupted(self.aborted)
            return proc

    def release(self, proc):
        """Kill what is left of proc's group, reap it, forget it."""
        with self.lock:
            if proc.returncode is None:
                _killpg(proc.pid, signal.SIGKILL)
            self.procs.pop(proc.pid, None)
        if proc.returncode is None:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass

    def abort(self, signum):
        """Called from the signal handler: kill every group now."""
        with self.lock:
            if self.aborted is None:
                self.aborted = signum
            for pid, (proc, gentle) in list(self.procs.items()):
                if proc.returncode is None:
                    _killpg(pid, signal.SIGTERM if gentle else signal.SIGKILL)

    def kill_all(self):
        with self.lock:
            for pid, (proc, gentle) in list(self.procs.items()):
                if proc.returncode is None:
                    _killpg(pid, signal.SIGKILL)


def _killpg(pgid, sig):
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


class CpuMeter:
    """CPU time of a process (utime+stime of all its threads, from
    /proc/PID/stat) plus 'idle' wall time: time during which no QEMU thread
    was running or waiting for a CPU (guest halted), from
    /proc/PID/task/*/schedstat.  Time spent waiting for a CPU on a loaded
    host is not charged."""

    def __init__(self, pid, start):
        self.pid = pid
        self.cpu = 0.0
        self.idle = 0.0
        self.have_proc = os.path.exists("/proc/%d/stat" % pid)
        self._prev = {}
        self._last = start
        self._sched_ok = True

    @property
    def charged(self):
        return self.cpu + self.idle

    def poll(self, now):
        if not self.have_proc:
            return
        try:
            with open("/proc/%d/stat" % self.pid, "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
            self.cpu = (int(fields[11]) + int(fields[12])) / CLK_TCK
        except (OSError, IndexError, ValueError):
            return
        dt = now - self._last
        self._last = now
        if not self._sched_ok or dt <= 0:
            return
        busiest = 0
        cur = {}
        try:
            for tid in os.listdir("/proc/%d/task" % self.pid):
                try:
                    with open("/proc/%d/task/%s/schedstat" % (self.pid, tid), "rb") as f:
                        run, wait = f.read().split()[:2]
                except (OSError, ValueError):
                    continue
                total = int(run) + int(wait)
                cur[tid] = total
                busiest = max(busiest, total - self._prev.get(tid, total if not self._prev else 0))
        except OSError:
            self._sched_ok = False
            return
        if not cur:
            self._sched_ok = False
            return
        first = not self._prev
        self._prev = cur
        if not first:
            # At most IDLE_CAP per poll: if the grader itself was starved of
            # CPU (polls far apart), QEMU may have been blocked writing to a
            # full pipe; err towards not charging that.
            self.idle += min(IDLE_CAP, max(0.0, dt - busiest / 1e9))


def _wait_zombie(pid, timeout):
    """Wait until pid has exited, without reaping it."""
    deadline = time.monotonic() + timeout
    delay = 0.0005
    while True:
        try:
            if os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT | os.WNOHANG) is not None:
                return True
        except ChildProcessError:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(delay)
        delay = min(delay * 2, 0.01)


@dataclass(eq=False)
class RunResult:
    """What happened in one QEMU run (before judging it)."""
    how: Ended | None = None          # how the run ended
    status: int | None = None         # QEMU's exit status (negative: signal), if how is EXIT
    cpu: float = 0.0                  # QEMU's CPU seconds
    idle: float = 0.0                 # seconds the guest sat halted (charged as CPU)
    prompt: str = ""                  # the prompt it sat at (how is INPUT)
    wall: float = 0.0
    output: bytearray = field(default_factory=bytearray)
    stderr: bytearray = field(default_factory=bytearray)
    splitter: LineSplitter = field(default_factory=LineSplitter)
    matcher: Matcher | None = None
    error: str | None = None          # why QEMU could not start (how is ERROR)
    argv: list[str] | None = None
    debug_log: str = ""               # the tail of QEMU's -d cpu_reset log

    @property
    def lines(self):
        return self.splitter.lines


def run_qemu(registry, argv, trace, *, timeout, flood_limit, wall_limit,
             debug_log=None, grace=GRACE, cwd=None):
    """Run one QEMU and match its output against `trace` while it runs.
    Never leaves the process behind."""
    res = RunResult()
    res.argv = argv
    res.matcher = matcher = Matcher(trace)
    splitter = res.splitter
    start = time.monotonic()
    try:
        proc = registry.spawn(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, cwd=cwd)
    except Interrupted:
        res.how = Ended.INTERRUPTED
        return res
    except OSError as e:
        res.how, res.error = Ended.ERROR, "cannot start %s: %s" % (argv[0], e.strerror or e)
        return res
    sel = selectors.DefaultSelector()
    try:
        out_fd, err_fd, in_fd = proc.stdout.fileno(), proc.stderr.fileno(), proc.stdin.fileno()
        for fd in (out_fd, err_fd, in_fd):
            os.set_blocking(fd, False)
        sel.register(out_fd, selectors.EVENT_READ)
        sel.register(err_fd, selectors.EVENT_READ)
        meter = CpuMeter(proc.pid, start)
        pending = bytearray()       # bytes waiting to go to QEMU's stdin
        in_open = True
        in_registered = False
        open_fds = 2
        grace_from = None           # (charged, wall) when a terminal line appeared
        next_poll = start + POLL
        # A monitor-driven trace whose kernel sits at its prompt, halted,
        # with everything sent and an expected line still missing, will
        # not go on: end it at once rather than at the timeout.
        interactive = any(s.kind == "send" for s in trace.steps)
        idle_at_output = 0.0
        while True:
            # outgoing serial input
            for text in matcher.take_outbox():
                pending += text.encode("utf-8")
            if pending and in_open:
                try:
                    n = os.write(in_fd, pending)
                    del pending[:n]
                except BlockingIOError:
                    pass
                except OSError:
                    in_open = False
                    pending.clear()
            want_in = bool(pending) and in_open
            if want_in != in_registered:
                if want_in:
                    sel.register(in_fd, selectors.EVENT_WRITE)
                else:
                    sel.unregister(in_fd)
                in_registered = want_in
            now = time.monotonic()
            for key, _ in sel.select(max(0.0, min(POLL, next_poll - now))):
                fd = key.fd
                if fd == in_fd:
                    continue
                try:
                    data = os.read(fd, 65536)
                except BlockingIOError:
                    continue
                except OSError as e:
                    if e.errno != errno.EIO:
                        raise
                    data = b""
                if not data:
                    sel.unregister(fd)
                    open_fds -= 1
                    continue
                if fd == err_fd:
                    if len(res.stderr) < 65536:
                        res.stderr += data
                    continue
                room = flood_limit - len(res.output)
                if len(data) > room:
                    data = data[:room]
                    res.how = Ended.FLOOD
                res.output += data
                idle_at_output = meter.idle
                for lineno, line in splitter.feed(data):
                    matcher.feed_line(lineno, line)
                if matcher.wants_partial():
                    matcher.feed_partial(*splitter.partial)
                if res.how == Ended.FLOOD:
                    break
            if res.how == Ended.FLOOD:
                break
            if open_fds == 0:
                # QEMU closed stdout/stderr: it has exited (or is about to).
                # Read its final CPU time from the zombie before reaping it.
                if _wait_zombie(proc.pid, 0.5):
                    meter.poll(time.monotonic())
                    proc.wait()
                    res.how = Ended.EXIT
                    break
            now = time.monotonic()
            if now >= next_poll:
                next_poll = now + POLL
                meter.poll(now)
                if registry.aborted is not None:
                    res.how = Ended.INTERRUPTED
                    break
                if grace_from is None and matcher.terminal is not None:
                    grace_from = (meter.charged, now)
                if grace_from is not None and (meter.charged - grace_from[0] >= grace
                                               or now - grace_from[1] >= GRACE_WALL):
                    res.how = Ended.GRACE
                    break
                if meter.charged >= timeout:
                    res.how = Ended.TIMEOUT
                    break
                if interactive and not pending and meter.idle - idle_at_output >= INPUT_WAIT:
                    step = matcher.waiting_for
                    prompt = splitter.partial[1]
                    if step is not None and step.kind == "expect" and prompt:
                        res.how, res.prompt = Ended.INPUT, prompt
                        break
                if now - start >= wall_limit:
                    res.how = Ended.WALL
                    break
        # The incomplete last line becomes a line: matched if QEMU exited,
        # otherwise only shown in the report.
        last = splitter.finish()
        if res.how == Ended.EXIT:
            for lineno, line in last:
                matcher.feed_line(lineno, line)
        else:
            meter.poll(time.monotonic())
        res.cpu, res.idle = meter.cpu, meter.idle
    finally:
        sel.close()
        registry.release(proc)
        for f in (proc.stdin, proc.stdout, proc.stderr):
            try:
                f.close()
            except OSError:
                pass
        res.wall = time.monotonic() - start
    res.status = proc.returncode if res.how == Ended.EXIT else None
    if debug_log:
        try:
            with open(debug_log, "rb") as f:
                f.seek(0, os.SEEK_END)
                size = f.tell()
                f.seek(max(0, size - 65536))
                res.debug_log = f.read().decode("utf-8", "replace")
        except OSError:
            pass
    return res
