/* dtmf.c - DTMF both ways: RFC 4733 telephone-event payloads, and tones in
 * PCM for legs that have no telephone-event.
 *
 * The payload helpers are pure functions. Detection wraps spandsp's DTMF
 * receiver, which works at 8 kHz: 16 and 48 kHz input is averaged down in
 * blocks of 2 or 6 samples (a boxcar whose response is -0.6 dB at the
 * highest DTMF tone), and state changes are reported through spandsp's
 * real-time callback with the position of the 10 ms block in which they
 * were found. spandsp fills a few static tables the first time a receiver
 * is created; that first creation is done once under pthread_once so that
 * detectors may be created on several threads. Generation is our own: an
 * open-ended phase-continuous pair of sines at any rate, started and
 * stopped as events arrive, which spandsp's fixed-timing, 8 kHz-only,
 * queue-driven generator does not offer.
 */
#include "codec_impl.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>

#include <spandsp/telephony.h>
#include <spandsp/logging.h>
#include <spandsp/super_tone_rx.h>
#include <spandsp/dtmf.h>

int codec_dtmf_parse(const uint8_t *payload, size_t len,
		     struct codec_dtmf_event *ev)
{
	if (!payload || !ev || len < CODEC_DTMF_PAYLOAD_LEN)
		return -EBADMSG;
	ev->event = payload[0];
	ev->end = (payload[1] & 0x80) != 0;
	ev->volume = payload[1] & 0x3F;
	ev->duration = (uint16_t)(payload[2] << 8 | payload[3]);
	return 0;
}

int codec_dtmf_build(const struct codec_dtmf_event *ev, uint8_t *out,
		     size_t cap)
{
	if (!ev || !out || ev->volume > 63)
		return -EINVAL;
	if (cap < CODEC_DTMF_PAYLOAD_LEN)
		return -ENOSPC;
	out[0] = ev->event;
	out[1] = (uint8_t)((ev->end ? 0x80 : 0) | ev->volume);
	out[2] = (uint8_t)(ev->duration >> 8);
	out[3] = (uint8_t)ev->duration;
	return CODEC_DTMF_PAYLOAD_LEN;
}

uint32_t codec_dtmf_rescale(uint32_t duration, int from_clock, int to_clock)
{
	if (from_clock <= 0 || to_clock <= 0 || from_clock == to_clock)
		return duration;
	uint64_t d = ((uint64_t)duration * (uint64_t)to_clock +
		      (uint64_t)from_clock / 2) / (uint64_t)from_clock;
	return d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
}

static const char event_chars[] = "0123456789*#ABCD";

int codec_dtmf_event_from_char(char c)
{
	if (c >= 'a' && c <= 'd')
		c = (char)(c - 'a' + 'A');
	for (int i = 0; i < 16; i++)
		if (event_chars[i] == c && c)
			return i;
	return -EINVAL;
}

char codec_dtmf_char_from_event(int event)
{
	return event >= 0 && event < 16 ? event_chars[event] : '\0';
}

/* Detection */

#define DET_BLOCK 80	/* samples at 8 kHz handed to spandsp at a time */

struct codec_dtmf_det {
	dtmf_rx_state_t *rx;
	int factor;		/* pcm_rate / 8000 */
	int acc_n;		/* samples in the current decimation block */
	int32_t acc;
	uint64_t pos;		/* samples consumed, at pcm_rate */
	uint64_t block_pos;	/* position of the block being analysed */
	int level;		/* level of the digit now sounding */
	struct codec_dtmf_tone *out;	/* valid during a feed only */
	int max, n;
	int16_t block[DET_BLOCK];
	int block_n;
};

static pthread_once_t spandsp_once = PTHREAD_ONCE_INIT;

static void spandsp_tables_init(void)
{
	dtmf_rx_state_t *rx = dtmf_rx_init(NULL, NULL, NULL);
	if (rx)
		dtmf_rx_free(rx);
}

static void on_tone(void *user, int code, int level, int delay)
{
	struct codec_dtmf_det *det = user;
	if (det->n >= det->max)
		return;
	struct codec_dtmf_tone *t = &det->out[det->n++];
	t->digit = (char)code;
	if (code)
		det->level = level;
	t->level_dbm0 = det->level;
	t->position = det->block_pos;
}

int codec_dtmf_det_new(int pcm_rate, struct codec_dtmf_det **out)
{
	if (!out || (pcm_rate != 8000 && pcm_rate != 16000 && pcm_rate != 48000))
		return -EINVAL;
	pthread_once(&spandsp_once, spandsp_tables_init);
	struct codec_dtmf_det *det = calloc(1, sizeof(*det));
	if (!det)
		return -ENOMEM;
	det->rx = dtmf_rx_init(NULL, NULL, NULL);
	if (!det->rx) {
		free(det);
		return -ENOMEM;
	}
	dtmf_rx_set_realtime_callback(det->rx, on_tone, det);
	det->factor = pcm_rate / 8000;
	*out = det;
	return 0;
}

void codec_dtmf_det_free(struct codec_dtmf_det *det)
{
	if (!det)
		return;
	dtmf_rx_free(det->rx);
	free(det);
}

static void det_push(struct codec_dtmf_det *det, int16_t s)
{
	if (det->block_n == 0)
		det->block_pos = det->pos;
	det->block[det->block_n++] = s;
	if (det->block_n == DET_BLOCK) {
		dtmf_rx(det->rx, det->block, DET_BLOCK);
		det->block_n = 0;
	}
}

int codec_dtmf_det_feed(struct codec_dtmf_det *det, const int16_t *pcm,
			int samples, struct codec_dtmf_tone *out, int max)
{
	if (!det || (!pcm && samples) || samples < 0 || (!out && max > 0))
		return -EINVAL;
	det->out = out;
	det->max = max > 0 ? max : 0;
	det->n = 0;
	for (int i = 0; i < samples; i++) {
		if (det->factor == 1) {
			det_push(det, pcm[i]);
		} else {
			det->acc += pcm[i];
			if (++det->acc_n == det->factor) {
				det_push(det, (int16_t)(det->acc / det->factor));
				det->acc = 0;
				det->acc_n = 0;
			}
		}
		det->pos++;
	}
	det->out = NULL;
	return det->n;
}

/* Generation */

struct codec_dtmf_gen {
	int rate;
	bool active;
	double ph_lo, ph_hi;	/* phases in cycles, [0, 1) */
	double inc_lo, inc_hi;	/* cycles per sample */
	double amp;
};

static const double row_hz[4] = { 697.0, 770.0, 852.0, 941.0 };
static const double col_hz[4] = { 1209.0, 1336.0, 1477.0, 1633.0 };
static const char keypad[] = "123A456B789C*0#D";

int codec_dtmf_gen_new(int pcm_rate, struct codec_dtmf_gen **out)
{
	if (!out || pcm_rate < 8000 || pcm_rate > 192000)
		return -EINVAL;
	struct codec_dtmf_gen *g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->rate = pcm_rate;
	*out = g;
	return 0;
}

void codec_dtmf_gen_free(struct codec_dtmf_gen *gen)
{
	free(gen);
}

int codec_dtmf_gen_start(struct codec_dtmf_gen *gen, int event, int volume)
{
	if (!gen || event < 0 || event > 15 || volume < 0 || volume > 63)
		return -EINVAL;
	int k = 0;
	while (keypad[k] != event_chars[event])
		k++;
	gen->inc_lo = row_hz[k / 4] / gen->rate;
	gen->inc_hi = col_hz[k % 4] / gen->rate;
	/* a full-scale sine is +3.14 dBm0 (G.711) */
	gen->amp = 32767.0 * pow(10.0, (-volume - 3.14) / 20.0);
	if (!gen->active)
		gen->ph_lo = gen->ph_hi = 0.0;
	gen->active = true;
	return 0;
}

void codec_dtmf_gen_stop(struct codec_dtmf_gen *gen)
{
	if (gen)
		gen->active = false;
}

bool codec_dtmf_gen_active(const struct codec_dtmf_gen *gen)
{
	return gen && gen->active;
}

int codec_dtmf_gen_fill(struct codec_dtmf_gen *gen, int16_t *pcm, int samples)
{
	if (!gen || !pcm || samples < 0)
		return -EINVAL;
	if (!gen->active)
		return 0;
	for (int i = 0; i < samples; i++) {
		double v = gen->amp * (sin(2.0 * M_PI * gen->ph_lo) +
				       sin(2.0 * M_PI * gen->ph_hi));
		if (v > 32767.0)
			v = 32767.0;
		if (v < -32768.0)
			v = -32768.0;
		pcm[i] = (int16_t)lrint(v);
		gen->ph_lo += gen->inc_lo;
		gen->ph_hi += gen->inc_hi;
		if (gen->ph_lo >= 1.0)
			gen->ph_lo -= 1.0;
		if (gen->ph_hi >= 1.0)
			gen->ph_hi -= 1.0;
	}
	return samples;
}
