#!/usr/bin/env python3
"""Benchmark fargate-preflight's cluster mode against moto (run by hand, never by the tests).

Usage: target/tmp/moto-venv/bin/python tests/bench/cluster_bench.py \\
           --binary target/release/fargate-preflight [--sizes 1,10,50,200] [--runs 3]

Starts its own tests/emulator/server.py; for each N (1 is always added) builds scenario
`cluster-N` in a region of its own and runs `BINARY check --cluster app --format json` (for N=1
also with `--service svc-000`) one untimed warm-up plus --runs times, recording the mean wall
time, the peak RSS (the child's own rusage from wait4) and the JSON `stats`. For N=1 it also
times the describe calls the binary made (`stats.api_calls_by_operation` of the --service run)
made one after another from boto3 (in this process, and in a new Python process) and as one
`aws` CLI invocation each (skipped with a note when `aws` is not on PATH). Prints markdown
tables on stdout, progress on stderr. Exit status 1 if a binary run failed or its JSON lacked
a key of the contract (stdout: `stats` = {api_calls, api_calls_by_operation, waves, wall_ms};
with more than one service also `services` = [{service, summary}, ...]).
"""

import argparse
import json
import math
import os
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import boto3
from botocore import xform_name
from botocore.config import Config

REPO = Path(__file__).resolve().parents[2]
SERVER = REPO / "tests" / "emulator" / "server.py"
SCENARIO = REPO / "tests" / "emulator" / "scenario.py"
# One region per scenario (the scenario builder needs a fresh region each time).
REGIONS = (
    "us-east-1 us-east-2 us-west-1 us-west-2 eu-west-1 eu-west-2 eu-west-3 eu-central-1 "
    "eu-north-1 eu-south-1 ap-northeast-1 ap-northeast-2 ap-southeast-1 ap-southeast-2 "
    "ap-south-1 ca-central-1 sa-east-1"
).split()
BINARY_TIMEOUT = 300  # seconds per binary run
STATS_KEYS = ("api_calls", "api_calls_by_operation", "waves", "wall_ms")
# What a plain describe-call checker would have to call, should the binary not report it:
# the single-service `check` of an alb scenario (tests/it/emulator.rs asserts the same list).
FALLBACK_OPERATIONS = {
    "ec2:DescribeInternetGateways": 1, "ec2:DescribeManagedPrefixLists": 1,
    "ec2:DescribeNatGateways": 1, "ec2:DescribeNetworkAcls": 1, "ec2:DescribeRouteTables": 1,
    "ec2:DescribeSecurityGroups": 1, "ec2:DescribeSubnets": 2, "ec2:DescribeVpcAttribute": 2,
    "ec2:DescribeVpcEndpoints": 1, "ec2:DescribeVpcs": 1,
    "ecr:DescribePullThroughCacheRules": 1, "ecr:DescribeRepositories": 1,
    "ecs:DescribeServices": 1, "ecs:DescribeTaskDefinition": 1,
    "elasticloadbalancing:DescribeLoadBalancers": 1,
    "elasticloadbalancing:DescribeTargetGroups": 1,
    "iam:GetPolicy": 1, "iam:GetPolicyVersion": 1, "iam:GetRole": 1,
    "iam:ListAttachedRolePolicies": 1, "iam:ListRolePolicies": 1,
}  # fmt: skip
# IAM-style service prefix (as in the binary's operation names) -> boto3 / aws CLI service.
SERVICES = {
    "ec2": "ec2", "ecs": "ecs", "ecr": "ecr", "iam": "iam", "elasticloadbalancing": "elbv2",
}  # fmt: skip


class BenchError(Exception):
    pass


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def post(endpoint, path, body):
    """A test-only control request to the emulator (tests/emulator/server.py)."""
    request = urllib.request.Request(f"{endpoint}{path}", data=json.dumps(body).encode(),
                                     method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request) as answer:
        return json.loads(answer.read())


def dummy_env(endpoint, region):
    """The environment of every binary / aws CLI run: the emulator, dummy keys, no files."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_REGION=region,
        AWS_DEFAULT_REGION=region,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_EC2_METADATA_DISABLED="true",
        AWS_MAX_ATTEMPTS="1",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
    )
    return env


# ---- the emulator ------------------------------------------------------------------------
class Server:
    """tests/emulator/server.py on a free port; stops when we close its stdin."""

    def __enter__(self):
        self.log = tempfile.NamedTemporaryFile(prefix="moto-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(
            [sys.executable, str(SERVER), "--port", "0"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
        )
        ready, _, _ = select.select([self.proc.stdout], [], [], 60)
        line = self.proc.stdout.readline() if ready else ""
        if not line.startswith("READY "):
            self.__exit__(None, None, None)
            raise BenchError(f"server.py did not start (got {line!r}); see {self.log.name}")
        self.url = line.split()[1]
        return self.url

    def __exit__(self, *exc):
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.terminate()
            self.proc.wait(timeout=15)
        self.log.close()
        return False


def build(endpoint, region, name):
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, str(SCENARIO), "--endpoint", endpoint, "--region", region, name],
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - started
    if out.returncode != 0:
        raise BenchError(f"scenario {name} in {region} failed: {out.stderr.strip()}")
    return json.loads(out.stdout), elapsed


# ---- the binary --------------------------------------------------------------------------
def run_measured(cmd, env, timeout=BINARY_TIMEOUT):
    """Runs cmd; returns (exit code, stdout, stderr, wall seconds, peak RSS in MB).

    The peak RSS comes from GNU time (`/usr/bin/time -f %M`) when it is there: on Linux a
    child's ru_maxrss from wait4 keeps the high-water mark of the forked Python before exec
    (~36 MB), which hides the binary's own. Without GNU time, wait4's number is reported (an
    upper bound). The extra exec costs about a millisecond of the wall time."""
    gnu_time = shutil.which("time", path="/usr/bin")
    rss_file = tempfile.NamedTemporaryFile(delete=False) if gnu_time else None
    if rss_file:
        rss_file.close()
        cmd = [gnu_time, "-f", "%M", "-o", rss_file.name, *cmd]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)
        killer = threading.Timer(timeout, proc.kill)
        killer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            killer.cancel()
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    rss_mb = usage.ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)
    if rss_file:
        with open(rss_file.name) as f:
            rss_mb = int(f.read().split()[-1]) / 1024
        os.unlink(rss_file.name)
    if proc.returncode < 0:
        raise BenchError(f"{' '.join(cmd)} killed by signal {-proc.returncode} "
                         f"(timeout {timeout} s?)\n{stderr[-2000:]}")
    return proc.returncode, stdout, stderr, wall, rss_mb


def need(doc, path, kind, context):
    """doc[path...], or a BenchError naming the missing key and what is there instead."""
    node = doc
    for i, key in enumerate(path):
        if not isinstance(node, dict) or key not in node:
            where = ".".join(path[:i]) or "the top level"
            have = sorted(node) if isinstance(node, dict) else type(node).__name__
            raise BenchError(f"{context}: the JSON lacks `{'.'.join(path)}` "
                             f"({where} has {have})")
        node = node[key]
    if not isinstance(node, kind) or isinstance(node, bool):
        expected = "/".join(k.__name__ for k in kind) if isinstance(kind, tuple) else kind.__name__
        raise BenchError(f"{context}: `{'.'.join(path)}` is {type(node).__name__}, "
                         f"expected {expected}: {json.dumps(node)[:200]}")
    return node


def parse_output(stdout, stderr, code, context, expect_services):
    try:
        doc = json.loads(stdout)
    except json.JSONDecodeError:
        raise BenchError(f"{context}: exit {code}, stdout is not JSON "
                         f"({stdout[:200]!r}); stderr:\n{stderr.strip()[-2000:]}") from None
    if not isinstance(doc, dict):
        raise BenchError(f"{context}: the JSON is a {type(doc).__name__}, not an object")
    stats = {
        "api_calls": need(doc, ("stats", "api_calls"), int, context),
        "api_calls_by_operation": need(doc, ("stats", "api_calls_by_operation"), dict, context),
        "waves": need(doc, ("stats", "waves"), int, context),
        "wall_ms": need(doc, ("stats", "wall_ms"), (int, float), context),
    }
    services = None
    if expect_services > 1 or "services" in doc:
        entries = need(doc, ("services",), list, context)
        for i, entry in enumerate(entries):
            need(entry, ("service",), str, f"{context}, services[{i}]")
            need(entry, ("summary",), dict, f"{context}, services[{i}]")
        services = len(entries)
        if expect_services > 1 and services != expect_services:
            raise BenchError(f"{context}: `services` has {services} entries, "
                             f"the cluster has {expect_services} services")
    return stats, services


def bench_binary(binary, args, env, runs, expect_services, context):
    """One warm-up run (checked, not timed), then `runs` timed runs."""
    walls, rss, internal, seen = [], [], [], None
    for i in range(runs + 1):
        code, stdout, stderr, wall, rss_mb = run_measured([binary, *args], env)
        stats, services = parse_output(stdout, stderr, code, context, expect_services)
        if seen is not None and stats["api_calls"] != seen[0]["api_calls"]:
            log(f"note: {context}: api_calls varies between runs "
                f"({seen[0]['api_calls']} then {stats['api_calls']})")
        seen = (stats, services, code)
        if i == 0:
            continue  # warm-up
        walls.append(wall * 1000)
        rss.append(rss_mb)
        internal.append(stats["wall_ms"])
    stats, services, code = seen
    return {
        "stats": stats,
        "services": services,
        "exit_code": code,
        "wall_ms": statistics.mean(walls),
        "wall_ms_stdev": statistics.stdev(walls) if len(walls) > 1 else 0.0,
        "stats_wall_ms": statistics.mean(internal),
        "peak_rss_mb": max(rss),
    }


# ---- the same calls, from boto3 and the aws CLI -------------------------------------------
def resolve_ids(endpoint, region, built):
    """Ids the describe calls need that the scenario does not print (untimed)."""
    session = boto3.session.Session("testing", "testing", region_name=region)
    ec2 = session.client("ec2", endpoint_url=endpoint)
    iam = session.client("iam", endpoint_url=endpoint)
    role = built["execution_role_name"]
    ids = dict(built)
    ids["dhcp_options_id"] = ec2.describe_vpcs(VpcIds=[built["vpc_id"]])["Vpcs"][0].get(
        "DhcpOptionsId"
    )
    attached = iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]
    ids["policy_arn"] = attached[0]["PolicyArn"] if attached else None
    ids["policy_version"] = (
        iam.get_policy(PolicyArn=ids["policy_arn"])["Policy"]["DefaultVersionId"]
        if attached
        else None
    )
    inline = iam.list_role_policies(RoleName=role)["PolicyNames"]
    ids["inline_policy"] = inline[0] if inline else None
    ids["repository"] = built["repository_uri"].split("/", 1)[1]
    return ids


def vpc_filter(name, ids, member="Filters"):
    return {member: [{"Name": name, "Values": [ids["vpc_id"]]}]}


# operation -> ids -> the argument sets of its calls, used in turn when it is called n times
# (None: the ids needed are missing).
ARGUMENTS = {
    "ec2:DescribeVpcs": lambda i: [{"VpcIds": [i["vpc_id"]]}],
    "ec2:DescribeVpcAttribute": lambda i: [
        {"VpcId": i["vpc_id"], "Attribute": "enableDnsSupport"},
        {"VpcId": i["vpc_id"], "Attribute": "enableDnsHostnames"},
    ],
    "ec2:DescribeSubnets": lambda i: [
        {"Filters": [{"Name": "subnet-id", "Values": i["subnet_ids"]}]},
        vpc_filter("vpc-id", i),
    ],
    "ec2:DescribeRouteTables": lambda i: [vpc_filter("vpc-id", i)],
    # The one EC2 Describe* whose member is `Filter` (boto3 also takes `Filters`; the CLI not).
    "ec2:DescribeNatGateways": lambda i: [vpc_filter("vpc-id", i, member="Filter")],
    "ec2:DescribeInternetGateways": lambda i: [vpc_filter("attachment.vpc-id", i)],
    "ec2:DescribeVpcEndpoints": lambda i: [vpc_filter("vpc-id", i)],
    "ec2:DescribeSecurityGroups": lambda i: [vpc_filter("vpc-id", i)],
    "ec2:DescribeNetworkAcls": lambda i: [vpc_filter("vpc-id", i)],
    "ec2:DescribeManagedPrefixLists": lambda i: [{}],
    "ec2:GetManagedPrefixListEntries": lambda i: [{"PrefixListId": i["s3_prefix_list_id"]}],
    "ec2:DescribeDhcpOptions": lambda i: i["dhcp_options_id"]
    and [{"DhcpOptionsIds": [i["dhcp_options_id"]]}],
    "ecr:DescribePullThroughCacheRules": lambda i: [{}],
    "ecr:DescribeRepositories": lambda i: [{"repositoryNames": [i["repository"]]}],
    "ecs:ListServices": lambda i: [{"cluster": i["cluster"]}],
    "ecs:DescribeServices": lambda i: [{"cluster": i["cluster"], "services": [i["service"]]}],
    "ecs:DescribeTaskDefinition": lambda i: [{"taskDefinition": i["task_definition_arn"]}],
    "elasticloadbalancing:DescribeTargetGroups": lambda i: i["target_group_arn"]
    and [{"TargetGroupArns": [i["target_group_arn"]]}],
    "elasticloadbalancing:DescribeLoadBalancers": lambda i: i["load_balancer_arn"]
    and [{"LoadBalancerArns": [i["load_balancer_arn"]]}],
    "iam:GetRole": lambda i: [{"RoleName": i["execution_role_name"]}],
    "iam:ListAttachedRolePolicies": lambda i: [{"RoleName": i["execution_role_name"]}],
    "iam:ListRolePolicies": lambda i: [{"RoleName": i["execution_role_name"]}],
    "iam:GetPolicy": lambda i: i["policy_arn"] and [{"PolicyArn": i["policy_arn"]}],
    "iam:GetPolicyVersion": lambda i: i["policy_arn"]
    and [{"PolicyArn": i["policy_arn"], "VersionId": i["policy_version"]}],
    "iam:GetRolePolicy": lambda i: i["inline_policy"]
    and [{"RoleName": i["execution_role_name"], "PolicyName": i["inline_policy"]}],
}


def plan_calls(operations, ids):
    """[(operation, boto3 service, method, kwargs)] for operations {name: count}; and notes."""
    plan, notes = [], []
    for op, count in sorted(operations.items()):
        prefix, _, name = op.partition(":")
        variants = ARGUMENTS[op](ids) if op in ARGUMENTS and prefix in SERVICES else None
        if not variants:
            notes.append(f"{op} x{count} not repeated (no argument mapping or ids for it)")
            continue
        for k in range(count):
            plan.append((op, SERVICES[prefix], xform_name(name), variants[k % len(variants)]))
    return plan, notes


def boto3_calls(endpoint, region, plan):
    """Session, clients and the calls in sequence; returns (total s, calls only s)."""
    started = time.perf_counter()
    session = boto3.session.Session("testing", "testing", region_name=region)
    cfg = Config(retries={"max_attempts": 1})
    clients = {}
    for _, service, _, _ in plan:
        if service not in clients:
            clients[service] = session.client(service, endpoint_url=endpoint, config=cfg)
    calls_started = time.perf_counter()
    for _, service, method, kwargs in plan:
        getattr(clients[service], method)(**kwargs)
    done = time.perf_counter()
    return done - started, done - calls_started


def boto3_child_main(path):
    """--boto3-plan FILE: what a Python checker does, as a process of its own."""
    spec = json.loads(Path(path).read_text())
    boto3_calls(spec["endpoint"], spec["region"], [tuple(c) for c in spec["plan"]])
    return 0


def cli_command(aws, endpoint, region, service, method, kwargs):
    cmd = [aws, service, method.replace("_", "-"), "--endpoint-url", endpoint,
           "--region", region, "--output", "json"]
    for key, value in kwargs.items():
        cmd.append("--" + xform_name(key, "-"))
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            cmd.extend(value)
        elif isinstance(value, str):
            cmd.append(value)
        else:
            cmd.append(json.dumps(value))  # structures: the CLI takes JSON
    return cmd


def compare_n1(endpoint, region, built, operations, runs, binary_rows, notes):
    """The N=1 comparison rows: [(how, calls, mean ms, remark)]."""
    ids = resolve_ids(endpoint, region, built)
    plan, plan_notes = plan_calls(operations, ids)
    notes.extend(plan_notes)
    rows = list(binary_rows)
    n = len(plan)

    boto3_calls(endpoint, region, plan)  # warm-up, and proof the arguments work
    totals, only = zip(*(boto3_calls(endpoint, region, plan) for _ in range(runs)))
    rows.append(("boto3, in this process: session + clients + calls", n,
                 statistics.mean(totals) * 1000, "boto3 already imported"))
    rows.append(("boto3, in this process: the calls only", n,
                 statistics.mean(only) * 1000, "clients already built"))

    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump({"endpoint": endpoint, "region": region, "plan": plan}, f)
    try:
        child = [sys.executable, str(Path(__file__).resolve()), "--boto3-plan", f.name]
        walls = []
        for i in range(runs + 1):
            started = time.perf_counter()
            out = subprocess.run(child, capture_output=True, text=True)
            if out.returncode != 0:
                raise BenchError(f"boto3 child process failed:\n{out.stderr[-2000:]}")
            if i:
                walls.append(time.perf_counter() - started)
        rows.append(("boto3, a new Python process (import + calls)", n,
                     statistics.mean(walls) * 1000, ""))
    finally:
        os.unlink(f.name)

    aws = shutil.which("aws")
    if aws is None:
        notes.append("aws CLI sequential: skipped, no `aws` executable on PATH")
        return rows
    version = subprocess.run([aws, "--version"], capture_output=True, text=True)
    env = dummy_env(endpoint, region)
    commands = [cli_command(aws, endpoint, region, s, m, kw) for _, s, m, kw in plan]
    failed = []
    for cmd in commands:  # check every command once (untimed)
        out = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if out.returncode != 0:
            failed.append(f"`{' '.join(cmd[1:3])}`: {out.stderr.strip()[-300:]}")
    if failed:
        notes.append("aws CLI: these commands failed (timed anyway): " + "; ".join(failed))
    walls = []
    for _ in range(runs):
        started = time.perf_counter()
        for cmd in commands:
            subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        walls.append(time.perf_counter() - started)
    mean = statistics.mean(walls) * 1000
    rows.append(("aws CLI, one invocation per call, in sequence", n, mean,
                 f"{mean / max(n, 1):.0f} ms per call; "
                 f"{(version.stdout or version.stderr).split()[0]} at {aws}"))
    return rows


# ---- the budget --------------------------------------------------------------------------
def budget_terms(n, calls_1, built):
    """api_calls(N) should stay within api_calls(1) plus what N services add in batches:
    DescribeServices (10 a call), one DescribeTaskDefinition per distinct task definition,
    DescribeTargetGroups (20 ARNs a call), ListServices pages (100 a page)."""
    families = built["service_families"]
    task_definitions = len({built["task_definition_arns"][f] for f in families.values()})
    target_groups = len({tg for tg in built["service_target_groups"].values() if tg})
    return {
        "api_calls(1)": calls_1,
        "ceil(N/10)": math.ceil(n / 10),
        "task definitions": task_definitions,
        "ceil(target groups/20)": math.ceil(target_groups / 20),
        "ceil(N/100)": math.ceil(n / 100),
    }


# ---- output ------------------------------------------------------------------------------
def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--boto3-plan":
        return boto3_child_main(sys.argv[2])
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--binary", required=True, help="the fargate-preflight executable")
    parser.add_argument("--sizes", default="1,10,50,200", help="service counts N (1 is added)")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per measurement")
    parser.add_argument("--latency-ms", type=int, default=100,
                        help="also run N in 1,10,200 with every answer delayed this long (0: skip)")
    args = parser.parse_args()
    binary = str(Path(args.binary).resolve())
    if not os.access(binary, os.X_OK):
        parser.error(f"{args.binary} is not an executable file")
    try:
        sizes = sorted({int(s) for s in args.sizes.split(",") if s.strip()} | {1})
    except ValueError:
        parser.error("--sizes takes comma-separated integers")
    if sizes[0] < 1 or len(sizes) > len(REGIONS) or args.runs < 1:
        parser.error(f"sizes must be >= 1, at most {len(REGIONS)} of them; --runs >= 1")

    results, errors, notes, comparison = {}, [], [], []
    with Server() as endpoint:
        log(f"moto at {endpoint}")
        for n, region in zip(sizes, REGIONS):
            built, build_s = build(endpoint, region, f"cluster-{n}")
            log(f"cluster-{n}: built in {region} in {build_s:.2f} s")
            env = dummy_env(endpoint, region)
            row = {"n": n, "region": region, "built": built, "build_s": build_s}
            modes = [("cluster", ["check", "--cluster", "app", "--format", "json"], n)]
            if n == 1:
                modes.append(("service", ["check", "--cluster", "app", "--service",
                                          built["service"], "--format", "json"], 1))
            for mode, argv, expect in modes:
                context = f"N={n} `{' '.join(argv)}`"
                try:
                    row[mode] = bench_binary(binary, argv, env, args.runs, expect, context)
                    log(f"  {mode}: {row[mode]['stats']['api_calls']} calls, "
                        f"{row[mode]['wall_ms']:.0f} ms")
                except BenchError as e:
                    errors.append(str(e))
                    log(f"  {mode}: FAILED: {e}")
            results[n] = row

        latency_rows = []
        if args.latency_ms > 0:
            for n in [m for m in (1, 10, 200) if m in results]:
                key = f"AKIALATENCY{n}"
                post(endpoint, "/_fp/delay", {"access_key_id": key, "ms": args.latency_ms})
                env = dict(dummy_env(endpoint, results[n]["region"]), AWS_ACCESS_KEY_ID=key)
                argv = ["check", "--cluster", "app", "--format", "json"]
                try:
                    r = bench_binary(binary, argv, env, args.runs, n, f"N={n} at {args.latency_ms} ms")
                except BenchError as e:
                    errors.append(str(e))
                    continue
                depth = r["stats"]["waves"]
                latency_rows.append((n, r["stats"]["api_calls"], depth, f"{r['wall_ms']:.0f}",
                                     depth * args.latency_ms,
                                     f"{r['wall_ms'] / (depth * args.latency_ms):.2f}"))
                log(f"  N={n} at {args.latency_ms} ms: {r['wall_ms']:.0f} ms, critical path {depth}")

        one = results[1]
        source = one.get("service") or one.get("cluster")
        if source is not None:
            operations = source["stats"]["api_calls_by_operation"]
        else:
            operations = FALLBACK_OPERATIONS
            notes.append("N=1: no binary run reported its calls; compared the fallback list "
                         "of the single-service alb check (FALLBACK_OPERATIONS)")
        binary_rows = [
            (f"binary `{label}`", one[mode]["stats"]["api_calls"], one[mode]["wall_ms"],
             f"stats.wall_ms {one[mode]['stats_wall_ms']:.0f}, "
             f"{one[mode]['stats']['waves']} waves, {one[mode]['peak_rss_mb']:.1f} MB")
            for mode, label in (("service", "check --service svc-000"),
                                ("cluster", "check --cluster app"))
            if mode in one
        ]
        try:
            comparison = compare_n1(endpoint, one["region"], one["built"], operations,
                                    args.runs, binary_rows, notes)
        except Exception as e:  # the comparison must not hide the table
            errors.append(f"N=1 comparison: {type(e).__name__}: {e}")
            comparison = binary_rows

    # ---- report
    base = results[1].get("cluster") or results[1].get("service")
    calls_1 = base["stats"]["api_calls"] if base else None
    rows, budget_rows = [], []
    variants = [(n, "cluster", "") for n in sizes] + [(1, "service", " (--service svc-000)")]
    for n, mode, label in sorted(variants, key=lambda v: (v[0], v[1] == "service")):
        r = results[n].get(mode)
        if r is None:
            rows.append((f"{n}{label}", "error (see below)", *[""] * 7))
            continue
        calls = r["stats"]["api_calls"]
        per_extra = (f"{(calls - calls_1) / (n - 1):.2f}"
                     if n > 1 and calls_1 is not None else "–")
        services = r["services"] if r["services"] is not None else "– (no key)"
        rows.append((f"{n}{label}", services, calls, r["stats"]["waves"],
                     f"{r['wall_ms']:.0f} ± {r['wall_ms_stdev']:.0f}",
                     f"{r['peak_rss_mb']:.1f}", per_extra,
                     f"{r['stats_wall_ms']:.0f}", f"{results[n]['build_s']:.1f}"))
        if mode == "cluster" and calls_1 is not None:
            terms = budget_terms(n, calls_1, results[n]["built"])
            budget = sum(terms.values())
            budget_rows.append((n, calls, budget, "ok" if calls <= budget else "OVER",
                                " + ".join(f"{v} {k}" for k, v in terms.items())))

    print(f"## fargate-preflight cluster benchmark\n\nbinary `{args.binary}`, moto "
          f"(tests/emulator/server.py), mean of {args.runs} runs after one warm-up; "
          "peak RSS is the largest of the runs.\n")
    print(table(["N", "services", "api_calls", "waves", "wall ms (binary, mean)",
                 "peak RSS MB", "calls per extra service", "stats.wall_ms (mean)",
                 "build s"], rows))
    print("\n### Budget: api_calls(N) ≤ api_calls(1) + ceil(N/10) + task definitions + "
          "ceil(target groups/20) + ceil(N/100)\n")
    if budget_rows:
        print(table(["N", "api_calls", "budget", "", "terms"], budget_rows))
    else:
        print("(no api_calls(1): the N=1 runs failed)")
    if latency_rows:
        print(f"\n### Every answer delayed {args.latency_ms} ms (a real round trip)\n")
        print(table(["N", "api_calls", "critical path (waves)", "wall ms (mean)",
                     "depth × latency ms", "ratio"], latency_rows))
    print("\n### N=1: the same describe calls, other ways\n")
    print(table(["how", "calls", "wall ms (mean)", "remark"],
                [(how, calls, f"{ms:.0f}", remark) for how, calls, ms, remark in comparison]))
    for note in notes:
        print(f"\nNote: {note}")
    for error in errors:
        print(f"\nERROR: {error}")
    return 1 if errors else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as e:
        print(f"cluster_bench: {e}", file=sys.stderr)
        sys.exit(1)
