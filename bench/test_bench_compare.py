#!/usr/bin/python3
"""bench/test_bench_compare.py: the arithmetic of tools/bench-compare.

Loads the tool as a module (it has no .py name) and checks the figures its
target lines are made of, on hand-made run results: medians of rounds, the
memory kept after delete, relay+generator CPU per packet, and that every
target names a metric the table has. Standard library only; no relay runs.
"""
import importlib.machinery
import importlib.util
import os
import sys
import unittest

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_loader = importlib.machinery.SourceFileLoader("bench_compare",
                                               os.path.join(SRC, "tools", "bench-compare"))
_spec = importlib.util.spec_from_loader("bench_compare", _loader)
bc = importlib.util.module_from_spec(_spec)
_loader.exec_module(bc)


def run(per_call=3.0, intercept=14000.0, base=9800, after=14600, calls=200,
        relay_cores=0.2, gen_cores=0.1, ns=10000.0):
    return {
        "ramp": False, "setup_calls": calls, "rss_base_kb": base, "rss_after_delete_kb": after,
        "memory": {"per_call_kb": per_call, "intercept_kb": intercept,
                   "fixed_kb": intercept - base, "growth_per_call_kb": 24.0},
        "rows": [{"calls": calls, "relay_cores": relay_cores, "gen_cores": gen_cores,
                  "relay_ns_per_pkt": ns, "relay_wait_cores": 0.0, "calls_per_core": 1000,
                  "ab": {"p99_us": 500, "loss": 0}, "ba": {"p99_us": 700, "loss": 0}}],
    }


class BenchCompareTest(unittest.TestCase):
    def test_median(self):
        self.assertEqual(bc.median([3, 1, 2]), 2)
        self.assertEqual(bc.median([4, 1, None, 2, 3]), 2.5)
        self.assertIsNone(bc.median([None]))

    def test_metric_skips_runs_without_the_field(self):
        runs = [run(), run(per_call=5.0), {"memory": {"per_call_kb": None}}]
        self.assertEqual(bc.metric(runs, lambda r: bc.mem(r, "per_call_kb")), 4.0)

    def test_memory_kept_after_delete(self):
        # 200 calls x 3 KB = 600 KB added by the calls; after delete the RSS
        # is 600 KB above the line at 0 calls: all of it kept
        self.assertAlmostEqual(bc.mem_kept(run()), 100.0)
        # back to the line: nothing kept (and never negative)
        self.assertAlmostEqual(bc.mem_kept(run(after=14000)), 0.0)
        self.assertAlmostEqual(bc.mem_kept(run(after=13000)), 0.0)
        self.assertAlmostEqual(bc.mem_kept(run(after=14060)), 10.0)
        # the reading taken --delete-wait later, when the run has one
        later = run()
        later["rss_later_kb"] = 14030
        self.assertAlmostEqual(bc.mem_kept_later(later), 5.0)
        with self.assertRaises(KeyError):
            bc.mem_kept_later(run())
        self.assertIsNone(bc.metric([run()], bc.mem_kept_later))

    def test_relay_plus_generator(self):
        # 0.2 cores of relay at 10 us a packet, generator 0.1 cores: 15 us
        self.assertAlmostEqual(bc.with_gen_ns(run()), 15000.0)

    def test_p99_is_the_worse_direction(self):
        self.assertEqual(bc.p99(run()), 700)

    def test_outside_the_codecs(self):
        r = run(ns=60000.0)
        r["rows"][0]["profile"] = {"codec": 0.7}
        self.assertAlmostEqual(bc.outside_codec_ns(r), 18000.0)
        self.assertAlmostEqual(bc.codec_ns(r), 42000.0)
        # 42 us of codec work and a 21 us forwarder: two thirds at most
        self.assertAlmostEqual(bc.share_at_floor(42000.0, 21000.0), 200 / 3)
        self.assertIsNone(bc.share_at_floor(None, 21000.0))
        self.assertIsNone(bc.share_at_floor(42000.0, None))
        with self.assertRaises(KeyError):
            bc.outside_codec_ns(run())

    def test_every_target_has_its_metric(self):
        for label, key, kind, bound in bc.TARGETS:
            if kind == "fwd<=":
                continue
            self.assertIn(key, bc.METRICS, label)
            self.assertIn(key.split(":")[0], bc.SCENARIOS, label)

    def test_calls_per_core_targets_read_at_half_load(self):
        lines = {key: (kind, bound) for label, key, kind, bound in bc.TARGETS}
        self.assertEqual(lines["opus-half: calls per core"], ("ratio>=", 3.0))
        self.assertEqual(lines["opus-eq-half: calls per core"], ("ratio>=", 1.5))
        self.assertEqual(lines["g729-half: calls per core"], ("ratio>=", 2.0))
        for scen in ("opus", "opus-eq", "g729"):
            self.assertEqual(lines[scen + ": calls per core"], ("tcratio", None))

    def test_ratio_at_floor(self):
        by = {"g729: CPU per packet": {"rtpengine": 88500.0, "rtpgate": 56800.0},
              "g729: CPU/packet in the codecs (--perf)": {"rtpgate": 38900.0}}
        # 88.5 us / (38.9 + 18.0 us)
        self.assertAlmostEqual(bc.ratio_at_floor(by, "g729", 18000.0), 88500 / 56900)
        self.assertIsNone(bc.ratio_at_floor(by, "g729", None))
        self.assertIsNone(bc.ratio_at_floor(by, "opus", 18000.0))
        by["g729: CPU per packet"]["rtpengine"] = None
        self.assertIsNone(bc.ratio_at_floor(by, "g729", 18000.0))

    def test_round_ratios_pair_the_runs_of_one_round(self):
        def tagged(tag, cpc):
            r = run()
            r["_tag"] = tag
            r["rows"][0]["calls_per_core"] = cpc
            return r
        cpc = bc.METRICS["g729-half: calls per core"][1]
        gate = [tagged("r0", 240), tagged("r1", 220), tagged("r2", 280)]
        # rtpengine's r1 failed: that round has no pair and is left out
        engine = [tagged("r0", 120), tagged("r2", 140), {"_tag": "r1", "rows": []}]
        self.assertEqual(bc.round_ratios(gate, engine, cpc), [2.0, 2.0])
        self.assertEqual(bc.round_ratios(gate, [], cpc), [])

    def test_spread_of_one_relays_rounds(self):
        def coded(ns):
            r = run(ns=ns)
            r["rows"][0]["profile"] = {"codec": 0.5}
            return r
        codec = bc.METRICS["g729-half: CPU/packet in the codecs (--perf)"][1]
        least, most, pct = bc.spread([coded(60000), coded(72000), coded(66000)], codec)
        self.assertEqual((least, most), (30000, 36000))
        self.assertAlmostEqual(pct, 20.0)
        # one run, or runs without a profile: nothing to spread
        self.assertIsNone(bc.spread([coded(60000)], codec))
        self.assertIsNone(bc.spread([run(), run()], codec))

    def test_opus_eq_gives_rtpgate_the_same_encoder(self):
        class A:
            eq_bitrate = 32000
            kernel_forward = "auto"
        self.assertIn("--opus-complexity=10", bc.relay_extra(A, "rtpgate", "opus-eq"))
        self.assertIn("--opus-bitrate=32000", bc.relay_extra(A, "rtpgate", "opus-eq"))
        self.assertEqual(bc.relay_extra(A, "rtpengine", "opus-eq"), "")
        self.assertNotIn("--opus", bc.relay_extra(A, "rtpgate", "opus"))
        # its half-load run keeps the same encoder settings
        self.assertEqual(bc.relay_extra(A, "rtpgate", "opus-eq-half"),
                         bc.relay_extra(A, "rtpgate", "opus-eq"))
        self.assertNotIn("--opus", bc.relay_extra(A, "rtpgate", "opus-half"))

    def test_half_load_is_half_of_each_relays_own_capacity(self):
        class A:
            threads = 2
        r = run()
        r["rows"][0]["calls_per_core"] = 181.4
        self.assertEqual(bc.half_load_calls(A, r), 181)
        r["rows"][0]["calls_per_core"] = 42.4
        self.assertEqual(bc.half_load_calls(A, r), 42)
        A.threads = 4
        self.assertEqual(bc.half_load_calls(A, r), 85)
        r["rows"][0]["calls_per_core"] = 0
        self.assertIsNone(bc.half_load_calls(A, r))
        self.assertIsNone(bc.half_load_calls(A, {"rows": []}))
        for half, base in bc.HALF.items():
            self.assertLess(bc.SCENARIOS.index(base), bc.SCENARIOS.index(half), half)
            self.assertIn(half, bc.TRANSCODING)

    def test_relay1000_rt_gives_both_relays_the_same_scheduling(self):
        class A:
            relay_rt_priority = 5
            kernel_forward = "auto"
        for relay in ("rtpgate", "rtpengine"):
            self.assertTrue(bc.relay_extra(A, relay, "relay1000-rt").endswith(
                " --scheduling=fifo --priority=5"))
            self.assertNotIn("--scheduling", bc.relay_extra(A, relay, "relay1000"))

    def test_kernel_forwarding_only_for_rtpgate_and_off_in_relay_user(self):
        class A:
            kernel_forward = "auto"
        self.assertEqual(bc.relay_extra(A, "rtpgate", "relay"), " --kernel-forward=auto")
        self.assertEqual(bc.relay_extra(A, "rtpgate", "relay-user"), " --kernel-forward=off")
        self.assertEqual(bc.relay_extra(A, "rtpengine", "relay"), "")
        self.assertEqual(bc.relay_extra(A, "rtpengine", "relay-user"), "")
        self.assertEqual(bc.BENCH_SCENARIO["relay-user"], "relay")


if __name__ == "__main__":
    sys.dont_write_bytecode = True
    unittest.main(verbosity=1)
