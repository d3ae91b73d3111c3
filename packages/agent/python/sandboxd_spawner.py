"""Per-user process spawner of the sandboxd agent (started once per user, already as that user).

Under gVisor a fork costs tens of milliseconds (the sentry copies the whole address space of the
forking process); posix_spawn (vfork + exec) does not copy it. Node's child_process always forks,
and switching users takes one more exec (setpriv), so the agent hands each command of a user to
this long-running process, started once with the user's uid, gid and supplementary groups.

Usage: SANDBOXD_SPAWNER_TOKEN=<32 hex digits> python3 -I -S sandboxd_spawner.py SOCKET

Requests arrive on stdin, one JSON object per line:
  {"id": N, "file": "/bin/bash", "argv": [...], "env": {...}, "cwd": "/home/user", "stdin": true}
For each, the spawner connects to the agent's Unix socket SOCKET once per stdio stream (stdin when
asked for, stdout, stderr), sends TOKEN (16 bytes), id (u32 big-endian) and the fd (u8) on each,
starts the command with those sockets as its fds 0-2 (/dev/null as stdin otherwise) and answers
on stdout, one JSON object per line:
  {"id": N, "pid": P}                      started
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
import threading

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


def start(req, path, token):
    global live
    rid = int(req["id"])
    socks = []
    null = None
    try:
        targets = [0, 1, 2] if req.get("stdin") else [1, 2]
        for fd in targets:
            socks.append((fd, connect(path, token + struct.pack(">IB", rid, fd))))
        actions = [(os.POSIX_SPAWN_DUP2, s.fileno(), fd) for fd, s in socks]
        if not req.get("stdin"):
            null = os.open("/dev/null", os.O_RDONLY)
            actions.append((os.POSIX_SPAWN_DUP2, null, 0))
        os.chdir(req["cwd"])
        with have_children:
            pid = os.posix_spawn(req["file"], req["argv"], req["env"], file_actions=actions, setsigdef=SIGNALS, setsigmask=[])
            live += 1
            have_children.notify()
        send({"id": rid, "pid": pid})
    except OSError as e:
        send({"id": rid, "error": errno.errorcode.get(e.errno or 0, "EIO"), "message": str(e)})
    finally:
        for _, s in socks:
            s.close()
        if null is not None:
            os.close(null)


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
