#!/usr/bin/env python3
"""Talks to the lab's QEMU over its QMP socket, for the stall watchdog in lab/run.sh.

usage: lab/qmp.py SOCKET COMMAND...
  COMMAND is "hmp:TEXT" (a human-monitor command, its output printed under a "== TEXT" line)
  or a bare QMP command name without arguments (e.g. inject-nmi).
Exit status 0 when every command answered, 1 otherwise (the error on stderr).
"""

import json
import socket
import sys


def main() -> int:
    if len(sys.argv) < 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    path, commands = sys.argv[1], sys.argv[2:]
    try:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(10)
        sock.connect(path)
        stream = sock.makefile("rw", encoding="utf-8")

        def answer():
            # Events (asynchronous messages) may come between a command and its answer.
            while True:
                line = stream.readline()
                if not line:
                    raise ConnectionError("QEMU closed the QMP socket")
                message = json.loads(line)
                if "return" in message or "error" in message:
                    return message

        def execute(name, arguments=None):
            request = {"execute": name}
            if arguments is not None:
                request["arguments"] = arguments
            stream.write(json.dumps(request) + "\n")
            stream.flush()
            message = answer()
            if "error" in message:
                raise RuntimeError(f"{name}: {message['error'].get('desc', message['error'])}")
            return message["return"]

        stream.readline()  # the greeting
        execute("qmp_capabilities")
        for command in commands:
            if command.startswith("hmp:"):
                text = command[4:]
                print(f"== {text}")
                print(execute("human-monitor-command", {"command-line": text}), end="")
            else:
                execute(command)
                print(f"== {command}: done")
        return 0
    except (OSError, ValueError, RuntimeError) as error:
        print(f"qmp: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
