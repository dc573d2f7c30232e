#!/usr/bin/env python3
# render-html.py OUTDIR FILE.html...: opens each HTML file in one headless Chromium
# (DevTools protocol over --remote-debugging-pipe, standard library only), saves a
# screenshot OUTDIR/NAME.png of each, and prints one line per file:
#   NAME.html ok PNG_BYTES
#   NAME.html problem TEXT       (a console message, an exception, a log entry of level
#                                 warning or error, or a request that failed)
# Exits 0 when it could render every file (problems included: the caller decides),
# 2 when Chromium could not be driven.
import base64
import fcntl
import json
import os
import select
import subprocess
import sys
import time

CHROMIUM = os.environ.get("CHROMIUM", "chromium")
TIMEOUT = 30


def high(fd):
    new = fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
    os.close(fd)
    return new


class Browser:
    def __init__(self):
        to_child_r, self.to_child = os.pipe()
        self.from_child, from_child_w = os.pipe()
        # the child's ends above 4, so that making them 3 and 4 closes neither
        to_child_r, from_child_w = (high(to_child_r), high(from_child_w))
        # the protocol pipe is fd 3 (Chromium reads) and fd 4 (Chromium writes)
        args = ["bash", "-c", 'exec 3<&%d 4>&%d %d<&- %d>&-; exec "$@"' %
            (to_child_r, from_child_w, to_child_r, from_child_w), "chromium",
            CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
            "--remote-debugging-pipe", "--window-size=1280,2000",
            "--no-first-run", "--no-default-browser-check", "--disable-extensions",
            "--user-data-dir=" + os.environ.get("RENDER_PROFILE", "/tmp/render-html-profile"),
            "about:blank"]
        self.proc = subprocess.Popen(args, pass_fds=(to_child_r, from_child_w),
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=open(os.environ.get("RENDER_LOG", os.devnull), "w"))
        os.close(to_child_r)
        os.close(from_child_w)
        self.buf = b""
        self.next_id = 0
        self.events = []

    def send(self, method, params=None, session=None):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.to_child, json.dumps(msg).encode() + b"\0")
        return self.next_id

    def read(self, deadline):
        while b"\0" not in self.buf:
            if time.monotonic() > deadline:
                raise TimeoutError("no answer from Chromium")
            r, _, _ = select.select([self.from_child], [], [], 0.5)
            if r:
                chunk = os.read(self.from_child, 1 << 20)
                if not chunk:
                    raise EOFError("Chromium closed the pipe")
                self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method, params=None, session=None):
        mid = self.send(method, params, session)
        deadline = time.monotonic() + TIMEOUT
        while True:
            m = self.read(deadline)
            if m.get("id") == mid:
                if "error" in m:
                    raise RuntimeError("%s: %s" % (method, m["error"]))
                return m.get("result", {})
            self.events.append(m)

    def wait_event(self, method, session):
        deadline = time.monotonic() + TIMEOUT
        for i, m in enumerate(self.events):
            if m.get("method") == method and m.get("sessionId") == session:
                del self.events[i]
                return m
        while True:
            m = self.read(deadline)
            if m.get("method") == method and m.get("sessionId") == session:
                return m
            self.events.append(m)

    def close(self):
        try:
            self.send("Browser.close")
            self.proc.wait(timeout=10)
        except Exception:
            self.proc.kill()
            self.proc.wait()


def problems(events, session):
    out = []
    for m in events:
        if m.get("sessionId") != session:
            continue
        p = m.get("params", {})
        meth = m.get("method")
        if meth == "Runtime.consoleAPICalled":
            args = " ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", []))
            out.append("console.%s: %s" % (p.get("type"), args))
        elif meth == "Runtime.exceptionThrown":
            out.append("exception: %s" % p.get("exceptionDetails", {}).get("text"))
        elif meth == "Log.entryAdded":
            e = p.get("entry", {})
            if e.get("level") in ("warning", "error"):
                out.append("log %s (%s): %s %s" % (e.get("level"), e.get("source"),
                    e.get("text"), e.get("url", "")))
        elif meth == "Network.loadingFailed":
            out.append("request failed: %s" % p.get("errorText"))
    return out


def main():
    outdir, files = sys.argv[1], sys.argv[2:]
    os.makedirs(outdir, exist_ok=True)
    b = Browser()
    try:
        targets = b.call("Target.getTargets")["targetInfos"]
        page = [t for t in targets if t["type"] == "page"][0]["targetId"]
        s = b.call("Target.attachToTarget", {"targetId": page, "flatten": True})["sessionId"]
        for m in ("Page.enable", "Runtime.enable", "Log.enable", "Network.enable"):
            b.call(m, session=s)
        for f in files:
            b.events = [m for m in b.events if m.get("sessionId") != s]
            url = "file://" + os.path.abspath(f)
            r = b.call("Page.navigate", {"url": url}, session=s)
            if r.get("errorText"):
                print("%s problem navigation: %s" % (os.path.basename(f), r["errorText"]))
                continue
            b.wait_event("Page.loadEventFired", s)
            shot = b.call("Page.captureScreenshot", {"format": "png"}, session=s)
            png = base64.b64decode(shot["data"])
            name = os.path.splitext(os.path.basename(f))[0]
            with open(os.path.join(outdir, name + ".png"), "wb") as o:
                o.write(png)
            # anything logged while the page loaded or painted
            b.call("Runtime.evaluate", {"expression": "1"}, session=s)
            found = problems(b.events, s)
            for p in found:
                print("%s problem %s" % (os.path.basename(f), p.replace("\n", " ")))
            if not found:
                print("%s ok %d" % (os.path.basename(f), len(png)))
            sys.stdout.flush()
    except (TimeoutError, EOFError, RuntimeError, IndexError, KeyError) as e:
        print("render-html: %s" % e, file=sys.stderr)
        return 2
    finally:
        b.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
