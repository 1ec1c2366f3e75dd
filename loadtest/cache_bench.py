#!/usr/bin/env python3
"""Read-through caches, on vs off: one node on Postgres + Redis, `wrk` against
GET /v1/tournaments/{id} (8 players, one round paired) and GET /v1/auth/profile.

    python3 loadtest/cache_bench.py [--bin target/release/warroom] [--seconds 10] [--conns 32]

Needs `wrk`, Postgres (PG, default postgres://postgres@127.0.0.1/test) and Redis
(REDIS, default redis://127.0.0.1:6379). Creates and drops a database wr_bench_<random>.
"""
import argparse, json, os, re, socket, subprocess, sys, time, urllib.request, uuid

PG = os.environ.get("PG", "postgres://postgres@127.0.0.1/test")
REDIS = os.environ.get("REDIS", "redis://127.0.0.1:6379")


def psql(db_url, sql):
    subprocess.run(["psql", db_url, "-qAtc", sql], check=True, stdout=subprocess.DEVNULL)


def call(base, method, path, body=None, token=None):
    req = urllib.request.Request(base + path, method=method,
                                 data=None if body is None else json.dumps(body).encode())
    req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", "Bearer " + token)
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read() or b"null")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def start(binary, db_url, cache, prefix):
    port = free_port()
    env = dict(os.environ, DATABASE_URL=db_url, REDIS_URL=REDIS, WARROOM_REDIS_PREFIX=prefix,
               WARROOM_CACHE=cache, WARROOM_RATE_LIMITS="off", WARROOM_LOG="warn",
               WARROOM_BIND=f"127.0.0.1:{port}", WARROOM_DATA_DIR="/tmp/wr-cache-bench",
               WARROOM_JWT_SECRET="bench-secret-bench-secret-bench-secret")
    p = subprocess.Popen([binary, "serve"], env=env, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(base + "/healthz")
            return p, base
        except Exception:
            time.sleep(0.1)
    p.kill()
    sys.exit("node did not start")


def wrk(base, path, token, seconds, conns):
    out = subprocess.run(["wrk", "-t2", f"-c{conns}", f"-d{seconds}s", "--latency",
                          "-H", f"Authorization: Bearer {token}", base + path],
                         capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+\w+)", out).group(1)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, p99, int(non2xx.group(1)) if non2xx else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="target/debug/warroom")
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--conns", type=int, default=32)
    a = ap.parse_args()
    name = "wr_bench_" + uuid.uuid4().hex[:12]
    base_url = PG.rsplit("/", 1)[0]
    db_url = f"{base_url}/{name}"
    psql(PG, f"CREATE DATABASE {name}")
    prefix = "bench-" + uuid.uuid4().hex[:8]
    try:
        node, base = start(a.bin, db_url, "on", prefix)
        tokens, ids = [], []
        for i in range(8):
            u = f"bench{i}"
            r = call(base, "POST", "/v1/auth/register",
                     {"username": u, "email": f"{u}@example.com", "password": "Secret-pass1"})
            tokens.append(r["access_token"]); ids.append(r["user"]["id"])
        psql(db_url, f"UPDATE users SET role = 'organizer' WHERE id = '{ids[0]}'")
        t = call(base, "POST", "/v1/tournaments",
                 {"name": "Bench Cup", "format": "swiss", "max_participants": 8}, tokens[0])
        tid = t["tournament"]["id"]
        for tok in tokens:
            army = call(base, "POST", "/v1/armies", {"name": "List", "faction_id": "fac_custodes",
                        "points_value": 2000, "army_list": {"units": [{"name": "Captain", "points": 100}]}}, tok)
            call(base, "POST", f"/v1/tournaments/{tid}/register", {"army_id": army["army"]["id"]}, tok)
        call(base, "POST", f"/v1/tournaments/{tid}/generate-pairings", None, tokens[0])
        node.terminate(); node.wait()
        rows = []
        for cache in ["off", "on"]:
            node, base = start(a.bin, db_url, cache, prefix)
            for label, path in [("tournament", f"/v1/tournaments/{tid}"), ("profile", "/v1/auth/profile")]:
                wrk(base, path, tokens[1], 2, a.conns)  # warm-up (fills the cache)
                rps, p99, bad = wrk(base, path, tokens[1], a.seconds, a.conns)
                rows.append((label, cache, rps, p99, bad))
            node.terminate(); node.wait()
        print(f"{'endpoint':<12}{'cache':<7}{'req/s':>10}{'p99':>10}{'non-2xx':>9}")
        for r in rows:
            print(f"{r[0]:<12}{r[1]:<7}{r[2]:>10.0f}{r[3]:>10}{r[4]:>9}")
    finally:
        psql(PG, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        subprocess.run(["sh", "-c", f"redis-cli --scan --pattern '{prefix}:*' | xargs -r redis-cli del"],
                       stdout=subprocess.DEVNULL)
        subprocess.run(["rm", "-rf", "/tmp/wr-cache-bench"])


if __name__ == "__main__":
    main()
