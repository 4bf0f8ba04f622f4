/* frames.h - one second of pre-encoded audio frames for the generator.
 *
 * The generator must not spend CPU on codecs, or it would become the
 * bottleneck before the relay: every frame is encoded once at start-up
 * (real PCMU, Opus and G.729 from the codec library) and replayed
 * in a loop. A frameset is immutable after frames_make() and may be read by
 * any thread.
 */
#ifndef BENCH_FRAMES_H
#define BENCH_FRAMES_H

#include <stdint.h>

#define FRAMES_N 50          /* 1 s of 20 ms frames */
#define FRAMES_MAXLEN 400

enum frames_codec { FRAMES_PCMU, FRAMES_OPUS, FRAMES_G729 };

struct frameset {
	enum frames_codec codec;
	const char *name;       /* SDP encoding name */
	unsigned clock;         /* RTP clock rate */
	unsigned ts_step;       /* RTP timestamp step per 20 ms */
	uint16_t len[FRAMES_N];
	uint8_t data[FRAMES_N][FRAMES_MAXLEN];
};

/* Encodes FRAMES_N frames of a speech-like test signal. opus_bitrate and
 * opus_complexity < 0 mean the codec library's defaults. 0 or -errno. */
int frames_make(struct frameset *fs, enum frames_codec codec,
		int opus_bitrate, int opus_complexity);

#endif
