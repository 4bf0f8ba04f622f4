/* test_quality.c - per-leg quality (quality.c): loss and jitter from RTP
 * seen on the packet path, the party's report blocks, RTT against a relayed
 * SR, and the E-model MOS estimate at known points. */
#include "unit.h"
#include "quality.h"
#include "session.h"

static size_t rtp(uint8_t *p, uint16_t seq, uint32_t ts, uint32_t ssrc, uint8_t pt)
{
	return unit_rtp(p, seq, ts, ssrc, pt, 160);
}

static void t_mos(void)
{
	/* perfect line: R = 93.2 - 10/40 = 92.95 -> MOS 4.40 */
	EXPECT_INT(quality_mos_x10(0, 0, 0), 44);
	/* 5 % loss: R = 93.2 - 0.25 - 12.5 = 80.45 -> 4.04 */
	EXPECT_INT(quality_mos_x10(50, 0, 0), 40);
	/* 20 % loss: R = 42.95 -> 2.21 */
	EXPECT_INT(quality_mos_x10(200, 0, 0), 22);
	/* 400 ms RTT, 20 ms jitter: latency 250 ms, R = 80.2 -> 4.03 */
	EXPECT_INT(quality_mos_x10(0, 20000, 400000), 40);
	/* everything lost: the floor */
	EXPECT_INT(quality_mos_x10(1000, 0, 0), 10);
}

static void t_loss_and_jitter(void)
{
	struct msession *ms = msession_new("q", 1);
	EXPECT(ms != NULL);
	struct mstream *a = msession_stream(ms, 0, 0, COMP_RTP);
	uint8_t p[200];
	/* 100 packets 20 ms apart, every 10th missing: 10 % loss, no jitter */
	for (int i = 0; i < 100; i++)
		if (i % 10 != 3)
			quality_in(ms, a, false, p, rtp(p, (uint16_t)(1000 + i), 160u * (unsigned)i, 7, 0),
				   20u * (unsigned)i);
	struct quality_summary q;
	quality_leg(ms, 0, &q);
	EXPECT_INT(q.lost, 10);
	EXPECT_INT(q.expected, 100);
	EXPECT_INT(q.loss_permille, 100);
	EXPECT_INT(q.jitter_us, 0);
	/* a new SSRC keeps what was counted */
	for (int i = 0; i < 10; i++)
		quality_in(ms, a, false, p, rtp(p, (uint16_t)(50 + 2 * i), 160u * (unsigned)i, 8, 0),
			   2000 + 20u * (unsigned)i);
	quality_leg(ms, 0, &q);
	EXPECT_INT(q.expected, 119);
	EXPECT_INT(q.lost, 19);
	/* leg b saw nothing */
	quality_leg(ms, 1, &q);
	EXPECT_INT(q.expected, 0);
	EXPECT_INT(q.mos_x10, 44);
	msession_unref(ms);
}

static void t_jitter_dynamic_pt(void)
{
	struct msession *ms = msession_new("q", 1);
	struct mstream *a = msession_stream(ms, 0, 0, COMP_RTP);
	uint8_t p[200];
	/* opus (48 kHz): arrivals alternate 10 ms early/late */
	for (int i = 0; i < 400; i++)
		quality_in(ms, a, false, p, rtp(p, (uint16_t)i, 960u * (unsigned)i, 9, 111),
			   20u * (unsigned)i + (i % 2 ? 10 : 0));
	struct quality_summary q;
	quality_leg(ms, 0, &q);
	/* |D| = 10 ms each packet: the estimate converges to 10 ms */
	EXPECT(q.jitter_us > 9000 && q.jitter_us <= 10000);
	msession_unref(ms);
}

/* SSRC 7's packets 1000..1009, 20 ms apart, through the worker */
static void worker_saw_ten(struct msession *ms, struct mstream *a, uint8_t *p)
{
	for (int i = 0; i < 10; i++)
		quality_in(ms, a, false, p, rtp(p, (uint16_t)(1000 + i), 160u * (unsigned)i, 7, 0),
			   20u * (unsigned)i);
}

/* What kernel forwarding counted (kfwd.c) continues the worker's view:
 * only a fold of the same SSRC and base counts; a new view is judged as
 * without the kernel, and counts what the kernel had seen of the old. */
static void t_kernel_fold(void)
{
	struct msession *ms = msession_new("q", 1);
	struct mstream *a = msession_stream(ms, 0, 0, COMP_RTP);
	uint8_t p[200];
	/* the worker saw 1000..1009; the kernel 1010..1059 without 1020..1024 */
	worker_saw_ten(ms, a, p);
	struct quality_kernel k = { .ssrc = 7, .base_seq = 1000, .ext_max = 1059, .received = 45,
				    .transit = 5, .jitter_q4 = 16 * 40 };
	quality_fold(a, &k);
	struct quality_summary q;
	quality_leg(ms, 0, &q);
	EXPECT_INT(q.expected, 60);
	EXPECT_INT(q.lost, 5);
	EXPECT_INT(q.jitter_us, 5000);        /* 40 units at 8 kHz */
	/* another SSRC's, or another base's, fold is not this view's */
	k.ssrc = 8;
	quality_fold(a, &k);
	k.ssrc = 7;
	k.base_seq = 999;
	quality_fold(a, &k);
	quality_leg(ms, 0, &q);
	EXPECT_INT(q.expected, 60);
	EXPECT_INT(q.lost, 5);
	/* a late fold with a lower highest number keeps the higher one */
	k.base_seq = 1000;
	k.ext_max = 1040;
	k.received = 1;
	quality_fold(a, &k);
	quality_leg(ms, 0, &q);
	EXPECT_INT(q.expected, 60);
	EXPECT_INT(q.lost, 4);
	/* a packet of a new SSRC would start a new view; the next in sequence
	 * would not, a jump would */
	EXPECT(quality_rebases(a, p, rtp(p, 1060, 0, 9, 0)));
	EXPECT(!quality_rebases(a, p, rtp(p, 1060, 0, 7, 0)));
	EXPECT(quality_rebases(a, p, rtp(p, 9000, 0, 7, 0)));
	/* and it does, keeping what was counted */
	EXPECT(quality_in(ms, a, false, p, rtp(p, 1, 0, 9, 0), 2000));
	EXPECT(!quality_in(ms, a, false, p, rtp(p, 2, 160, 9, 0), 2020));
	quality_leg(ms, 0, &q);
	EXPECT_INT(q.expected, 62);
	EXPECT_INT(q.lost, 4);
	msession_unref(ms);
}

/* A delete takes the kernel's entry (kf_final) before the worker folds
 * its last part: the control thread's summary counts that part as the
 * fold will, once. */
static void t_delete_take(void)
{
	struct msession *ms = msession_new("q", 1);
	struct mstream *a = msession_stream(ms, 0, 0, COMP_RTP);
	uint8_t p[200];
	worker_saw_ten(ms, a, p);
	/* the entry goes into the kernel (as kfwd.c's sync_one) */
	quality_publish_view(a);
	a->kf_on = true;
	/* the worker's last look: the kernel had 1010..1039, all there */
	struct quality_kernel k = { .ssrc = 7, .base_seq = 1000, .ext_max = 1039, .received = 30,
				    .transit = 5, .jitter_q4 = 16 * 8 };
	quality_fold(a, &k);
	atomic_store(&a->kf_folded, 30);
	struct quality_summary q;
	quality_leg(ms, 0, &q);
	EXPECT_INT(q.expected, 40);
	EXPECT_INT(q.lost, 0);
	/* then 1040..1059 without 1045..1049, and the take */
	a->kf_final = (struct kfwd_val){ .rx_on = 1, .ssrc = 7, .base_seq = 1000, .clock_rate = 8000,
					 .ext_max = 1059, .received = 45, .transit = 5,
					 .jitter_q4 = 16 * 40 };
	atomic_store(&a->kf_taken, true);
	quality_leg(ms, 0, &q);
	EXPECT_INT(q.expected, 60);
	EXPECT_INT(q.lost, 5);
	EXPECT_INT(q.jitter_us, 5000);
	/* the worker folds the take: the same, not twice */
	k = (struct quality_kernel){ .ssrc = 7, .base_seq = 1000, .ext_max = 1059, .received = 15,
				     .transit = 5, .jitter_q4 = 16 * 40 };
	quality_fold(a, &k);
	atomic_store(&a->kf_folded, 45);
	atomic_store(&a->kf_taken, false);
	quality_leg(ms, 0, &q);
	EXPECT_INT(q.expected, 60);
	EXPECT_INT(q.lost, 5);
	/* a take from another view (an SSRC the worker has moved away from,
	 * the entry still in) is not this one's */
	EXPECT(quality_in(ms, a, false, p, rtp(p, 1, 0, 9, 0), 2000));
	a->kf_final.ext_max = 1100;
	a->kf_final.received = 80;
	atomic_store(&a->kf_taken, true);
	quality_leg(ms, 0, &q);
	EXPECT_INT(q.expected, 61);
	EXPECT_INT(q.lost, 5);
	/* the entry made again from SSRC 9's view; its take (2..11 without
	 * 4 and 5) adds to what SSRC 7 left */
	quality_publish_view(a);
	atomic_store(&a->kf_folded, 0);
	a->kf_final = (struct kfwd_val){ .rx_on = 1, .ssrc = 9, .base_seq = 1, .clock_rate = 8000,
					 .ext_max = 11, .received = 8 };
	quality_leg(ms, 0, &q);
	EXPECT_INT(q.expected, 71);
	EXPECT_INT(q.lost, 7);
	msession_unref(ms);
}

static void t_rtcp_reports_and_rtt(void)
{
	struct msession *ms = msession_new("q", 1);
	struct mstream *a_rtcp = msession_stream(ms, 0, 0, COMP_RTCP);
	struct mstream *b_rtcp = msession_stream(ms, 1, 0, COMP_RTCP);
	uint8_t buf[200];
	/* b sends an SR at loop time 1000 ms; it is relayed to a */
	struct rtcp_sender_info si = { .ntp = 0x0000123456780000ull, .rtp_ts = 0 };
	int n = rtcp_build_sr(buf, sizeof(buf), 22, &si, NULL, 0);
	EXPECT(n > 0);
	quality_in(ms, b_rtcp, true, buf, (size_t)n, 1000);
	/* a reports at 1300 ms that it held the SR 200 ms, lost 64/256 */
	struct rtcp_report_block rb = {
		.ssrc = 22, .fraction_lost = 64, .cumulative_lost = 5, .jitter = 80,
		.lsr = rtcp_ntp_mid32(si.ntp), .dlsr = rtcp_us_to_q16(200000),
	};
	n = rtcp_build_rr(buf, sizeof(buf), 11, &rb, 1);
	EXPECT(n > 0);
	quality_in(ms, a_rtcp, true, buf, (size_t)n, 1300);
	struct quality_summary q;
	quality_leg(ms, 0, &q);
	EXPECT_INT(q.reports, 1);
	EXPECT_INT(q.rep_loss_permille, 250);
	EXPECT_INT(q.loss_permille, 250);
	EXPECT(q.rtt_us >= 99900 && q.rtt_us <= 100100);
	EXPECT_INT(q.jitter_us, 10000);      /* 80 units at 8 kHz */
	/* a report quoting another SR gives no RTT */
	rb.lsr ^= 1;
	n = rtcp_build_rr(buf, sizeof(buf), 11, &rb, 1);
	quality_in(ms, msession_stream(ms, 1, 0, COMP_RTCP), true, buf, (size_t)n, 1400);
	quality_leg(ms, 1, &q);
	EXPECT_INT(q.rtt_us, 0);
	/* garbage RTCP changes nothing and does not crash */
	memset(buf, 0xff, sizeof(buf));
	quality_in(ms, a_rtcp, true, buf, sizeof(buf), 1500);
	quality_in(ms, a_rtcp, true, buf, 3, 1500);
	quality_leg(ms, 0, &q);
	EXPECT_INT(q.reports, 1);
	msession_unref(ms);
}

const struct unit_case unit_cases[] = {
	UNIT(t_mos), UNIT(t_loss_and_jitter), UNIT(t_jitter_dynamic_pt),
	UNIT(t_kernel_fold), UNIT(t_delete_take), UNIT(t_rtcp_reports_and_rtt), { 0 },
};
