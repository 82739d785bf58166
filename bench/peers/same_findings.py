"""Checks that a peer found what schoolstat found: the same (line, rule) errors.

Usage: python same_findings.py SCHOOLSTAT_OUT PEER_OUT
Prints one line; exits 1 when the sets differ, so a peer that skips a check is noticed.
"""
import csv, sys

ours_dir, peer_dir = sys.argv[1], sys.argv[2]
with open(f"{ours_dir}/ledger.csv", encoding="utf-8-sig") as f:
    # The same finding on consecutive lines is one entry from line to last_line.
    ours = {(line, r["rule_id"]) for r in csv.DictReader(f) if r["severity"] == "error"
            for line in range(int(r["line"]), int(r.get("last_line") or r["line"]) + 1)}
with open(f"{peer_dir}/violations.csv", encoding="utf-8") as f:
    peer = {(int(r["row"]), r["rule"]) for r in csv.DictReader(f) if r["rule"] != "teachers.training_hours_plausible"}
with open(f"{peer_dir}/clean.csv", encoding="utf-8") as f:
    peer_clean = sum(1 for _ in f) - 1
with open(f"{ours_dir}/clean/teachers.csv", encoding="utf-8-sig") as f:
    our_clean = sum(1 for _ in f) - 1
same = ours == peer and our_clean == peer_clean
print(f"{peer_dir}: {len(peer)} errors, {peer_clean} clean rows; schoolstat {len(ours)} errors, {our_clean} clean rows: "
      + ("the same" if same else f"DIFFERENT ({len(ours - peer)} only in schoolstat, {len(peer - ours)} only in the peer)"))
sys.exit(0 if same else 1)
