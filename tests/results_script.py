#!/usr/bin/env python3
"""make test, part 3: scripts/results.py's long rows continue where they stopped.

scripts/results.py runs chapter 6's rows for hours through checkpoints. Here
it runs one of them (ch6-fc, three seeds) with a stand-in for build/nndl that
trains instantly: the first time, each run started writes a third of its
epochs and a checkpoint and waits, and the script is killed with its runs,
as when a session ends; the same command given again must continue every
run that left a checkpoint (`train --resume`) and start the others, and end
with every epoch once. Then an attempt past the book run on its own keeps
the earlier attempts' results, and an attempt with no validation set
(attempt 8) votes once, on the test set.
Prints one line per test, then "N passed, M failed".
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EPOCHS = 60  # ch6-fc's --epochs

# The stand-in for nndl: `train` with a fresh recipe writes the settings line
# and epochs 0..19 to --history and the checkpoint, then waits (the first
# time) or writes the rest and the model; `train --resume` writes the rest
# and the model. Every call is logged.
FAKE_NNDL = r'''#!/usr/bin/env python3
import json, os, sys, time
args = sys.argv[1:]
work = os.environ["FAKE_NNDL_WORK"]
with open(os.path.join(work, "calls.log"), "a") as log:
    log.write(" ".join(args) + "\n")
if args[0] == "eval":
    # each member, then the vote; the validation set's vote one better
    models = [a for a in args[1:] if a.endswith(".nndl")]
    for m in models:
        print(f"{m}: 9950/10000")
    print(f"ensemble of {len(models)}: {9973 if '--set' in args else 9972}/10000")
    sys.exit(0)
if args[0] != "train":
    sys.exit(0)
def line(epoch, validation=True):
    # with --validation 0 nndl has no validation set to report
    return json.dumps({"epoch": epoch, "eta": 0.1, "seconds": 0.5,
                       "evaluation_accuracy": 0.97 + epoch / 1e4,
                       **({"validation_accuracy": 0.97 + epoch / 1e4} if validation else {})
                       }) + "\n"
if "--resume" in args:
    state = json.load(open(args[args.index("--resume") + 1]))
    with open(state["history"], "a") as h:
        for e in range(state["done"], state["epochs"]):
            h.write(line(e, state["validation"]))
    open(state["model"], "w").write("model\n")
    sys.exit(0)
opt = lambda name: args[args.index(name) + 1]
history, checkpoint, model = opt("--history"), opt("--checkpoint"), opt("--save")
epochs, seed = int(opt("--epochs")), opt("--seed")
validation = "--validation" not in args or opt("--validation") != "0"
with open(history, "w") as h:
    h.write(json.dumps({"nndl": "test", "settings": {}}) + "\n")
    for e in range(epochs // 3):
        h.write(line(e, validation))
json.dump({"history": history, "model": model, "done": epochs // 3, "epochs": epochs,
           "validation": validation}, open(checkpoint, "w"))
if os.environ.get("FAKE_NNDL_HANG"):
    time.sleep(600)  # a long run: the test kills it and the script
with open(history, "a") as h:
    for e in range(epochs // 3, epochs):
        h.write(line(e, validation))
open(model, "w").write("model\n")
'''

results = {"passed": 0, "failed": 0}


def check(name, ok, detail=""):
    results["passed" if ok else "failed"] += 1
    print(("ok   " if ok else "FAIL ") + name + ("" if ok else ": " + detail))


def script(work, runs, store, out, only="ch6-fc", **env):
    return subprocess.Popen([sys.executable, os.path.join(ROOT, "scripts", "results.py"),
                             "--only", only, "--runs", runs, "--store", store, "--out", out],
                            env=dict(os.environ, NNDL_BIN=os.path.join(work, "nndl"),
                                     FAKE_NNDL_WORK=work, **env),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                            start_new_session=True)


def finished(name, proc):
    """Waits for a run of the script (killed, with its runs, after two
    minutes) and checks, as test `name`, that it ended well."""
    try:
        _, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        _, err = proc.communicate()
    check(name, proc.returncode == 0, f"exit {proc.returncode}: {err.strip()[-300:]}")
    return proc.returncode == 0


def checkpoints_in(runs):
    if not os.path.isdir(runs):
        return []
    return sorted(f for f in os.listdir(runs) if f.endswith(".ckpt"))


def later_attempt(work):
    """Past the book's attempt 2 is run on its own (`--only beyond2`): it
    trains its rows and votes, and attempt 1's reported test result stays
    as it was, in the store and in the page."""
    runs, store, out = (os.path.join(work, n) for n in ("runs2", "results2.json", "R2.md"))
    shutil.copy(os.path.join(ROOT, "docs", "results.json"), store)
    earlier = json.load(open(store))["beyond-vote"]
    proc = script(work, runs, store, out, only="beyond2")
    if not finished("results_script_runs_a_later_attempt", proc):
        return
    now = json.load(open(store))
    check("results_script_keeps_an_earlier_attempt", now["beyond-vote"] == earlier)
    attempt = now.get("beyond2-vote", {})
    check("results_script_stores_the_later_attempt",
          attempt.get("test_vote") == 0.9972 and len(attempt.get("models", [])) == 5
          and [r["seed"] for r in now.get("beyond2-schedule", {}).get("runs", [])]
          == [6, 7, 8, 9, 10], json.dumps(attempt)[:300])
    calls = open(os.path.join(work, "calls.log")).read()
    check("results_script_trains_only_the_later_attempt",
          "beyond2-schedule-seed6" in calls and "ch6-final-seed" not in calls
          and "beyond-augment-seed" not in calls)
    page = open(out).read()
    check("results_script_reports_both_attempts",
          f"**{100 * earlier['test_vote']:.2f}%**" in page and "**99.72%**" in page,
          page[-600:])
    glance = [l for l in page.splitlines() if l.startswith("| 2 | ")]
    check("results_script_sums_up_each_attempt",
          len(glance) == 1 and glance[0].endswith("| 99.72% |") and "| 5 | " in glance[0],
          str(glance))


def attempt_without_validation(work):
    """Attempt 8's networks train on all 60,000 images (--validation 0): no
    --early-stop (nndl refuses it there), the last epoch's weights, and its
    one vote straight to the test set, reported with no validation numbers."""
    runs, store, out = (os.path.join(work, n) for n in ("runs8", "results8.json", "R8.md"))
    shutil.copy(os.path.join(ROOT, "docs", "results.json"), store)
    open(os.path.join(work, "calls.log"), "w").close()
    proc = script(work, runs, store, out, only="beyond8")
    if not finished("results_script_runs_an_attempt_without_validation", proc):
        return
    calls = open(os.path.join(work, "calls.log")).read().splitlines()
    trains = [c for c in calls if c.startswith("train ")]
    evals = [c for c in calls if c.startswith("eval ")]
    check("results_script_trains_on_all_without_early_stop",
          len(trains) == 4 and all("--validation 0" in c and "--early-stop" not in c
                                   for c in trains), str(trains)[:300])
    check("results_script_votes_once_on_the_test_set",
          len(evals) == 1 and "--set" not in evals[0] and "--errors" in evals[0], str(evals))
    attempt = json.load(open(store)).get("beyond8-vote", {})
    page = open(out).read()
    glance = [l for l in page.splitlines() if l.startswith("| 8 | ")]
    check("results_script_reports_no_validation_numbers",
          attempt.get("candidates") == [] and attempt.get("test_vote") == 0.9972
          and len(glance) == 1 and glance[0].endswith("| 99.72% |")
          and "none held out" in glance[0] and "**99.72%**" in page, str(glance))


def main():
    with tempfile.TemporaryDirectory() as work:
        fake = os.path.join(work, "nndl")
        with open(fake, "w") as f:
            f.write(FAKE_NNDL)
        os.chmod(fake, 0o755)
        runs, store, out = (os.path.join(work, n) for n in ("runs", "results.json", "R.md"))

        # the first time: killed, runs and all, once each run started has
        # its checkpoint (as many as the script runs at once)
        first = script(work, runs, store, out, FAKE_NNDL_HANG="1")
        running = min(3, os.cpu_count() or 2)
        deadline = time.monotonic() + 60
        while len(checkpoints_in(runs)) < running and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)  # let the checkpoints be written whole
        os.killpg(first.pid, signal.SIGKILL)
        first.communicate()
        checkpoints = checkpoints_in(runs)
        check("results_script_leaves_checkpoints", len(checkpoints) == running,
              f"{checkpoints} after a minute")

        second = script(work, runs, store, out)
        finished("results_script_finishes_when_run_again", second)
        calls = open(os.path.join(work, "calls.log")).read().splitlines()
        resumed = sorted(c.split()[2] for c in calls if c.startswith("train --resume"))
        check("results_script_resumes_every_checkpoint",
              resumed == sorted(os.path.join(runs, c) for c in checkpoints),
              f"resumed {resumed}, checkpoints {checkpoints}")
        every_epoch = True
        for seed in (1, 2, 3):
            path = os.path.join(runs, f"ch6-fc-seed{seed}.jsonl")
            epochs = [json.loads(l).get("epoch") for l in open(path)][1:]
            every_epoch &= epochs == list(range(EPOCHS))
        check("results_script_keeps_every_epoch_once", every_epoch)
        stored = json.load(open(store)).get("ch6-fc", {}).get("runs", [])
        check("results_script_stores_the_row", [r["seed"] for r in stored] == [1, 2, 3]
              and all(len(r["accuracy"]) == EPOCHS for r in stored), json.dumps(stored)[:300])
        later_attempt(work)
        attempt_without_validation(work)
    print(f"{results['passed']} passed, {results['failed']} failed")
    return 1 if results["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
