"""scripts/bench-system: start-up with and without the demo company, then idle memory and CPU."""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

IDLE = int(sys.argv[1])
SEED = sys.argv[2]
SERVICES = ["contacts", "suppliers", "deals", "scheduler", "analytics"]
TICKS = os.sysconf("SC_CLK_TCK")
DEMO_PHASES = ("demo company", "staff:", "counterparties,", "supplier terms", "purchase orders", "orders:", "campaigns",
               "inquiries:", "deals:", "sales-condition", "analytics has", "classification", "activities")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(data_dir, demo, **extra_env):
    ports = {name: free_port() for name in SERVICES}
    env = dict(os.environ, CRM_DATA_DIR=data_dir, **{f"CRM_{n.upper()}_PORT": str(p) for n, p in ports.items()}, **extra_env)
    env.pop("CRM_KAFKA_BROKERS", None)
    args = ["scripts/run"] + (["--demo", "--seed", SEED] if demo else [])
    log = open(os.path.join(data_dir, "run.log"), "a")
    offset = log.tell()
    proc = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    return proc, ports, offset


def status(ports):
    env = dict(os.environ, **{f"CRM_{n.upper()}_PORT": str(p) for n, p in ports.items()})
    result = subprocess.run([BIN + "/crmctl", "status", "--json"], env=env, capture_output=True, text=True)
    return result.returncode, json.loads(result.stdout) if result.stdout.strip() else {}


def wait_running(proc, data_dir, offset, timeout=1800):
    """Until scripts/run says it is running (after the demo, when asked for); returns when its
    build step ended (it prints the dev broker's address next), the moment the figures start from."""
    deadline = time.monotonic() + timeout
    path = os.path.join(data_dir, "run.log")
    built = None
    while time.monotonic() < deadline:
        assert proc.poll() is None, open(path).read()[-3000:]
        with open(path) as log:
            log.seek(offset)
            text = log.read()
        if built is None and "dev broker:" in text:
            built = time.monotonic()
        if "running; data in" in text:
            return built
        time.sleep(0.1)
    raise SystemExit("scripts/run did not come up in time")


def stop(proc):
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=120)


def pids():
    """The service and broker processes, by name, from /proc (children of scripts/run)."""
    found = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmd = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
        except OSError:
            continue
        exe = os.path.basename(cmd[0].decode(errors="replace"))
        if exe.startswith("crm-") and exe[4:] in SERVICES:
            found[exe[4:]] = int(pid)
        elif exe == "crmctl" and len(cmd) > 1 and cmd[1] == b"dev-broker":
            found["dev-broker"] = int(pid)
    return found


def cpu_ticks(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def rss_mb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def idle(report, title):
    processes = pids()
    before = {name: cpu_ticks(pid) for name, pid in processes.items()}
    time.sleep(IDLE)
    after = {name: cpu_ticks(pid) for name, pid in processes.items()}
    print(f"{title}, over {IDLE} s: resident memory, CPU (percent of one core), store")
    total = 0.0
    for name in SERVICES + ["dev-broker"]:
        if name not in processes:
            continue
        cpu = (after[name] - before[name]) / TICKS / IDLE * 100
        total += cpu
        store = report.get(name, {}).get("storeBytes", 0) / 1e6
        print(f"  {name:10s} {rss_mb(processes[name]):7.1f} MB  {cpu:5.2f} %  " + (f"{store:6.1f} MB store" if store else ""))
    print(f"  {'all':10s} {'':10s} {total:5.2f} %")


BIN = subprocess.run(["swift", "build", "-c", "release", "--show-bin-path"], capture_output=True, text=True).stdout.strip()

with tempfile.TemporaryDirectory() as empty_dir:
    proc, ports, offset = start(empty_dir, demo=False)
    started = wait_running(proc, empty_dir, offset)
    while status(ports)[0] != 0:
        time.sleep(0.1)
    empty_seconds = time.monotonic() - started
    stop(proc)

with tempfile.TemporaryDirectory() as demo_dir:
    proc, ports, offset = start(demo_dir, demo=True)
    started = wait_running(proc, demo_dir, offset)
    demo_seconds = time.monotonic() - started
    code, report = status(ports)
    assert code == 0, report
    print(f"start-up (from the end of the build step), empty system, until every service is ready: {empty_seconds:.1f} s (reference)")
    print(f"start-up with the demo company loaded (scripts/run --demo): {demo_seconds:.1f} s "
          f"({demo_seconds / empty_seconds:.1f}x the empty start)")
    for line in open(os.path.join(demo_dir, "run.log")):
        progress = re.search(r": \d+ of \d+$", line.rstrip())  # "counterparties…: 500 of 5000" as it goes
        if line.startswith(DEMO_PHASES) and not progress and "http://" not in line:
            print("  " + line.rstrip()[:160])
    time.sleep(10)  # the reminders, conditions and standings the demo caused go out first
    idle(report, "idle with the demo data")
    stop(proc)
    # The same, with consumers waiting up to 500 ms per fetch: what compose.yaml sets for Apache
    # Kafka, which answers a fetch as soon as records arrive. The mock broker holds every fetch
    # that long (so scripts/run keeps the 3 ms default); here it shows how much of the idle CPU is
    # fetch polling.
    proc, ports, offset = start(demo_dir, demo=False, CRM_KAFKA_FETCH_WAIT_MAX_MS="500")
    wait_running(proc, demo_dir, offset)
    time.sleep(10)
    idle(status(ports)[1], "the same with CRM_KAFKA_FETCH_WAIT_MAX_MS=500")
    stop(proc)
