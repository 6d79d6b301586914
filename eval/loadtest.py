"""Load and soak test of the running web app over HTTP, with concurrent gradio_client clients.

Starts ``app.py`` on a free loopback port (over a fresh index built from the corpus, unless
``--index-dir`` names one), or drives an app that already runs (``--url``, with ``--pid`` to
follow its memory). Each client is a separate gradio_client session that asks questions
through the app's ``/fraga`` endpoint, a few per conversation, as a user would.

    python eval/loadtest.py                          # 20 clients, 2,000 questions
    python eval/loadtest.py --soak 10000             # the soak run: 10,000 questions
    python eval/loadtest.py --url http://127.0.0.1:7860/ --pid 1234 --clients 5 --questions 200

Reports failed requests, latency (p50, p95, max), throughput and the app process's resident
memory (VmRSS) at the start, middle and end. Exit status 1 when a request failed.
All traffic stays on 127.0.0.1 (telemetry of gradio_client is switched off).
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

# gradio_client sends telemetry unless told not to (its analytics_enabled=False alone is not enough).
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from fraga.testing import start_app, stop_app  # noqa: E402 - after the environment is set

ROOT = Path(__file__).resolve().parents[1]
GOLD = ROOT / "eval" / "gold.jsonl"
START_TIMEOUT = 600  # seconds: building the index with the real encoder on a busy machine, then Gradio
REQUEST_TIMEOUT = 300  # seconds for one question (queued behind the others)
FALLBACK_QUESTIONS = (
    "Vem polisanmäler i Skarpnäck?",
    "Vilka stadsdelar har en nolltoleranspolicy?",
    "Har Norra innerstaden en säkerhetssamordnare på heltid?",
    "Hur arbetar Kungsholmen mot tystnadskultur?",
    "Vem gör bedömningen om det ska polisanmälas?",
    "Hur stöttas medarbetare som utsatts för hot?",
)
# Spellings of a question, so the same question is not always the same string (the retriever
# caches the vectors of its last 256 questions; real users rarely repeat themselves). They change
# neither the words BM25 sees nor, measurably, the answers (fraga declines about as often).
VARIANTS: tuple[Callable[[str], str], ...] = (
    lambda q: q,
    lambda q: q[:1].lower() + q[1:],
    lambda q: q.rstrip("?").rstrip(),
    lambda q: q.lower(),
    lambda q: q.rstrip("?").rstrip() + "??",
    lambda q: (q[:1].lower() + q[1:]).rstrip("?").rstrip(),
)


def questions(gold: Path = GOLD, *, vary: bool = True) -> list[str]:
    """The questions to ask: the gold set's (or a few built-in ones), each spelt several ways."""
    base: list[str] = []
    if gold.is_file():
        for line in gold.read_text(encoding="utf-8").splitlines():
            if line.strip():
                q = str(json.loads(line).get("question", "")).strip()
                if q:
                    base.append(q)
    base = base or list(FALLBACK_QUESTIONS)
    return [variant(q) for variant in (VARIANTS if vary else VARIANTS[:1]) for q in base]


# The app process ----------------------------------------------------------------------
def rss_mb(pid: int | None) -> float | None:
    """Resident memory of ``pid`` in MB (VmRSS from /proc), or None when unknown."""
    if not pid:
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


# The load -------------------------------------------------------------------------------
@dataclass
class Result:
    url: str
    clients: int
    questions: int
    done: int = 0
    failures: int = 0
    declined: int = 0  # answered "no clear answer in the documents" (not a failure)
    sessions: int = 0  # Gradio sessions (conversations) the clients used
    failure_examples: list[str] = field(default_factory=list)
    seconds: float = 0.0
    throughput: float = 0.0  # questions per second
    p50: float = 0.0  # seconds
    p95: float = 0.0
    p99: float = 0.0
    max: float = 0.0
    mean: float = 0.0
    rss_mb: dict[str, float | None] = field(default_factory=dict)  # start, 10%, 50%, end, peak
    rss_growth_per_1000: float | None = None  # MB per 1,000 questions over the second half of the run
    rss_samples: list[tuple[float, int, float]] = field(default_factory=list)  # (seconds, done, MB)

    def summary(self) -> str:
        lines = [f"{self.done} frågor till {self.url} med {self.clients} samtidiga klienter på {self.seconds:.1f} s "
                 f"({self.throughput:.1f} frågor/s, {self.sessions} sessioner)",
                 f"misslyckade: {self.failures} (utan tydligt svar i dokumenten: {self.declined})",
                 f"svarstid: p50 {self.p50 * 1000:.0f} ms, p95 {self.p95 * 1000:.0f} ms, "
                 f"p99 {self.p99 * 1000:.0f} ms, max {self.max * 1000:.0f} ms, medel {self.mean * 1000:.0f} ms"]
        if any(v is not None for v in self.rss_mb.values()):
            lines.append("minne (RSS): " + ", ".join(f"{k} {v:.0f} MB" for k, v in self.rss_mb.items()
                                                     if v is not None)
                         + (f"; tillväxt under andra halvan {self.rss_growth_per_1000:+.1f} MB per 1 000 frågor"
                            if self.rss_growth_per_1000 is not None else ""))
        lines += [f"  fel: {e}" for e in self.failure_examples]
        return "\n".join(lines)


def percentile(values: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (0-100) by linear interpolation; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    pos = (len(ordered) - 1) * p / 100
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def check_reply(reply: object) -> tuple[str, bool]:
    """(why the /fraga reply is wrong or "", whether fraga declined to answer) for one reply."""
    html = reply[0] if isinstance(reply, (tuple, list)) and reply else reply
    if not isinstance(html, str) or 'class="fraga-turn"' not in html:
        return f"oväntat svar: {str(reply)[:200]!r}", False
    last = html[html.rfind('class="fraga-turn"'):]
    if "fraga-error" in last:
        return "frågan avvisades: " + last[:300], False
    if 'class="fraga-a' not in last:
        return "svaret saknas: " + last[:300], False
    return "", "fraga-noanswer" in last


def settle(client: object, timeout: float = 5.0) -> None:
    """Wait until ``client``'s event stream from the last request has closed.

    gradio_client reuses an open stream for the next request of the session; when the
    server closes that stream (it does after the session's last event) just as the next
    request is sent, the client abandons that request with a CancelledError although the
    app answers it. Waiting for the close between the questions of one client avoids that
    race of the client library (seen once in 10,000 questions), so a failure counted here
    is the app's.
    """
    lock = getattr(client, "pending_lock", None)
    if lock is None:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with lock:
            if not getattr(client, "stream_open", False):
                return
        time.sleep(0.005)


def run(url: str, *, clients: int = 20, total: int = 2000, pid: int | None = None, per_conversation: int = 5,
        mode: str = "hybrid", k: int = 5, pool: Sequence[str] | None = None, sample_every: float = 1.0,
        progress: Callable[[str], None] | None = None, timeout: float = REQUEST_TIMEOUT) -> Result:
    """Ask ``total`` questions through ``clients`` concurrent gradio_client sessions.

    Each client starts a new conversation (a new session) after ``per_conversation``
    questions. ``pid`` is the app's process, whose RSS is sampled every ``sample_every`` s.
    """
    from gradio_client import Client

    pool = list(pool or questions())
    result = Result(url=url, clients=clients, questions=total, sessions=clients)
    latencies: list[float] = []
    lock = threading.Lock()
    counter = itertools.count()
    stop = threading.Event()
    made = [Client(url, verbose=False, download_files=False, analytics_enabled=False) for _ in range(clients)]
    rss_start = rss_mb(pid)
    t0 = time.perf_counter()

    def sampler() -> None:
        while not stop.wait(sample_every):
            mb = rss_mb(pid)
            if mb is not None:
                with lock:
                    result.rss_samples.append((round(time.perf_counter() - t0, 1), result.done, round(mb, 1)))

    def worker(client: Client) -> None:
        asked = 0
        while True:
            i = next(counter)
            if i >= total:
                return
            if asked and asked % per_conversation == 0:
                client.reset_session()
                with lock:
                    result.sessions += 1
            asked += 1
            question = pool[i % len(pool)]
            start = time.perf_counter()
            try:
                reply = client.submit(question, mode, k, api_name="/fraga").result(timeout=timeout)
                error, declined = check_reply(reply)
            except Exception as exc:  # any failure of the request counts
                error, declined = f"{type(exc).__name__}: {exc}"[:300], False
            elapsed = time.perf_counter() - start
            settle(client)
            with lock:
                result.done += 1
                latencies.append(elapsed)
                result.declined += declined
                if error:
                    result.failures += 1
                    if len(result.failure_examples) < 10:
                        result.failure_examples.append(f"{question!r}: {error}")
                done = result.done
            if progress and done % max(1, total // 20) == 0:
                mb = rss_mb(pid)
                progress(f"{done}/{total} frågor, {result.failures} misslyckade, "
                         f"{time.perf_counter() - t0:.0f} s" + (f", RSS {mb:.0f} MB" if mb is not None else ""))

    watch = threading.Thread(target=sampler, daemon=True)
    watch.start()
    threads = [threading.Thread(target=worker, args=(c,), daemon=True) for c in made]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result.seconds = time.perf_counter() - t0
    stop.set()
    watch.join()
    rss_end = rss_mb(pid)
    for c in made:
        try:
            c.close()
        except Exception:
            pass

    result.throughput = result.done / result.seconds if result.seconds else 0.0
    result.p50, result.p95, result.p99 = (percentile(latencies, p) for p in (50, 95, 99))
    result.max = max(latencies, default=0.0)
    result.mean = statistics.fmean(latencies) if latencies else 0.0

    def at(fraction: float) -> float | None:
        want = result.done * fraction
        return next((mb for _, done, mb in result.rss_samples if done >= want), None)

    samples = [mb for _, _, mb in result.rss_samples]
    result.rss_mb = {"start": rss_start, "10%": at(0.1), "50%": at(0.5), "end": rss_end,
                     "peak": max(samples + [rss_end or 0.0], default=None) if pid else None}
    half = result.rss_mb["50%"]
    if half is not None and rss_end is not None and result.done >= 2:
        result.rss_growth_per_1000 = (rss_end - half) / (result.done / 2) * 1000
    return result


# Command line -------------------------------------------------------------------------
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--url", help="an app that already runs (default: start app.py on a free port)")
    p.add_argument("--pid", type=int, help="the process of the app at --url, to follow its memory")
    p.add_argument("--clients", type=int, default=20, help="concurrent clients (default 20)")
    p.add_argument("--questions", type=int, default=2000, help="questions in all (default 2000)")
    p.add_argument("--soak", type=int, metavar="N", help="soak run: ask N questions (e.g. 10000)")
    p.add_argument("--per-conversation", type=int, default=5, help="questions per session (default 5)")
    p.add_argument("--mode", default="hybrid", choices=["hybrid", "bm25", "dense"])
    p.add_argument("--same-questions", action="store_true",
                   help="ask the gold questions as they are (default: also spelt in other ways, so the "
                        "query-vector cache does not answer most of them)")
    p.add_argument("--index-dir", help="index for the started app (default: a new one built from --corpus)")
    p.add_argument("--corpus", default=str(ROOT / "corpus"), help="corpus for a new index (default: corpus/)")
    p.add_argument("--json", dest="json_out", help="also write the figures as JSON here")
    args = p.parse_args(argv)
    if args.soak:
        args.questions = args.soak
    if args.clients < 1 or args.questions < 1:
        p.error("--clients and --questions must be at least 1")
    if args.url and not args.url.startswith(("http://127.0.0.1", "http://localhost")):
        p.error("--url must be on loopback (http://127.0.0.1:PORT/)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    def say(message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)

    proc = None
    work = Path(tempfile.mkdtemp(prefix="fraga-loadtest-"))
    url, pid = args.url, args.pid
    try:
        if not url:
            index_dir = Path(args.index_dir) if args.index_dir else work / "index"
            say(f"startar app.py (index {index_dir}, logg {work / 'app.log'}) …")
            proc, url = start_app(index_dir, work / "app.log", corpus=Path(args.corpus), timeout=START_TIMEOUT)
            pid = proc.pid
            say(f"appen svarar på {url} (pid {pid}, RSS {rss_mb(pid):.0f} MB)")
        pool = questions(vary=not args.same_questions)
        say(f"{args.questions} frågor ({len(pool)} olika), {args.clients} klienter, "
            f"{args.per_conversation} frågor per konversation")
        result = run(url, clients=args.clients, total=args.questions, pid=pid, per_conversation=args.per_conversation,
                     mode=args.mode, pool=pool, progress=say)
    finally:
        if proc is not None:
            stop_app(proc)
        if not args.index_dir:
            shutil.rmtree(work / "index", ignore_errors=True)  # the app's log stays, for a look afterwards
    print(result.summary(), flush=True)
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(asdict(result), ensure_ascii=False, indent=1), encoding="utf-8")
    return 1 if result.failures else 0


if __name__ == "__main__":
    sys.exit(main())
