"""Per-user process spawner of the sandboxd agent (started once per user, already as that user).

Under gVisor a fork costs tens of milliseconds (the sentry copies the whole address space of the
forking process); posix_spawn (vfork + exec) does not copy it. Node's child_process always forks,
and switching users takes one more exec (setpriv), so the agent hands each command of a user to
this long-running process, started once with the user's uid, gid and supplementary groups.

Usage: SANDBOXD_SPAWNER_TOKEN=<32 hex digits> python3 -I -S sandboxd_spawner.py SOCKET

Requests arrive on stdin, one JSON object per line:
  {"id": N, "file": "/bin/bash", "argv": [...], "env": {...}, "cwd": "/home/user", "stdin": true}
  {"id": N, "file": "/bin/bash", "argv": [...], "env": {...}, "cwd": "/home/user", "pty": "/dev/pts/3"}
For each piped one, the spawner connects to the agent's Unix socket SOCKET once per stdio stream
(stdin when asked for, stdout, stderr), sends TOKEN (16 bytes), id (u32 big-endian) and the fd
(u8) on each, and starts the command with those sockets as its fds 0-2 (/dev/null as stdin
otherwise). A pty one (the agent holds the terminal's master and made the replica openable by this
user) gets its own session, and the replica, opened after setsid, as fds 0-2 and controlling
terminal, with the terminal settings node-pty gives a forked terminal. It answers on stdout, one
JSON object per line:
  {"id": N, "pid": P, "spawnUs": U}        started (U: microseconds from the request to posix_spawn's return)
  {"id": N, "error": "ENOENT", "message": ...}  not started (the agent then starts it itself)
  {"ready": true}                          first, once it takes requests
  {"exit": P, "code": C, "signal": S}      a command ended (code or signal number; may come
                                           before its "pid" answer)
The spawner ends when stdin closes.
"""

import errno
import json
import os
import signal
import socket
import struct
import sys
import termios
import threading
import time

SIGNALS = [s for s in signal.valid_signals() if s not in (signal.SIGKILL, signal.SIGSTOP)]
write_lock = threading.Lock()
have_children = threading.Condition()
live = 0


def send(obj):
    line = (json.dumps(obj, separators=(",", ":")) + "\n").encode()
    with write_lock:
        os.write(1, line)


def reaper():
    global live
    while True:
        with have_children:
            while live == 0:
                have_children.wait()
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:
            with have_children:
                live = 0
            continue
        except InterruptedError:
            continue
        with have_children:
            live -= 1
        if os.WIFSIGNALED(status):
            send({"exit": pid, "code": None, "signal": os.WTERMSIG(status)})
        else:
            send({"exit": pid, "code": os.waitstatus_to_exitcode(status), "signal": None})


def connect(path, header):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.sendall(header)
    return s


def terminal_settings():
    """What node-pty sets on a terminal it forks (no IUTF8: the agent reads it as bytes), 38400 baud."""
    cc = [0] * termios.NCCS
    for name, value in (("VEOF", 4), ("VEOL", 255), ("VEOL2", 255), ("VERASE", 0x7F), ("VWERASE", 23), ("VKILL", 21),
                        ("VREPRINT", 18), ("VINTR", 3), ("VQUIT", 0x1C), ("VSUSP", 26), ("VSTART", 17), ("VSTOP", 19),
                        ("VLNEXT", 22), ("VDISCARD", 15), ("VMIN", 1), ("VTIME", 0)):
        cc[getattr(termios, name)] = value
    t = termios
    iflag = t.ICRNL | t.IXON | t.IXANY | t.IMAXBEL | t.BRKINT
    oflag = t.OPOST | t.ONLCR
    cflag = t.CREAD | t.CS8 | t.HUPCL
    lflag = t.ICANON | t.ISIG | t.IEXTEN | t.ECHO | t.ECHOE | t.ECHOK | t.ECHOKE | t.ECHOCTL
    return [iflag, oflag, cflag, lflag, t.B38400, t.B38400, cc]


TERMINAL = terminal_settings()


def start(req, path, token):
    global live
    started = time.monotonic()
    rid = int(req["id"])
    socks = []
    fds = []
    setsid = False
    try:
        pty = req.get("pty")
        if pty:
            # Opened here without becoming ours (O_NOCTTY) to set it up; the child opens it again
            # after setsid, which makes it its controlling terminal.
            tty = os.open(pty, os.O_RDWR | os.O_NOCTTY)
            fds.append(tty)
            termios.tcsetattr(tty, termios.TCSANOW, TERMINAL)
            actions = [(os.POSIX_SPAWN_OPEN, 0, pty, os.O_RDWR, 0), (os.POSIX_SPAWN_DUP2, 0, 1), (os.POSIX_SPAWN_DUP2, 0, 2)]
            setsid = True
        else:
            targets = [0, 1, 2] if req.get("stdin") else [1, 2]
            for fd in targets:
                socks.append((fd, connect(path, token + struct.pack(">IB", rid, fd))))
            actions = [(os.POSIX_SPAWN_DUP2, s.fileno(), fd) for fd, s in socks]
            if not req.get("stdin"):
                null = os.open("/dev/null", os.O_RDONLY)
                fds.append(null)
                actions.append((os.POSIX_SPAWN_DUP2, null, 0))
        os.chdir(req["cwd"])
        with have_children:
            pid = os.posix_spawn(req["file"], req["argv"], req["env"], file_actions=actions, setsigdef=SIGNALS, setsigmask=[], setsid=setsid)
            live += 1
            have_children.notify()
        send({"id": rid, "pid": pid, "spawnUs": int((time.monotonic() - started) * 1e6)})
    except (OSError, termios.error) as e:
        code = e.errno if isinstance(e, OSError) else e.args[0]
        send({"id": rid, "error": errno.errorcode.get(code or 0, "EIO"), "message": str(e)})
    finally:
        for _, s in socks:
            s.close()
        for fd in fds:
            os.close(fd)


def main():
    path, token = sys.argv[1], bytes.fromhex(os.environ.pop("SANDBOXD_SPAWNER_TOKEN"))
    # Only the agent ends it (by closing stdin): a user's `pkill python3` must not take it down.
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2):
        signal.signal(s, signal.SIG_IGN)
    threading.Thread(target=reaper, daemon=True).start()
    send({"ready": True})
    for line in sys.stdin.buffer:
        try:
            req = json.loads(line)
        except ValueError:
            continue
        start(req, path, token)


if __name__ == "__main__":
    main()
