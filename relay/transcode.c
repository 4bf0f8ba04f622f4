/* transcode.c - placeholder until the transcoder lands: nothing creates an xcoder yet. */
#include "transcode.h"
#include <errno.h>
#include <stdlib.h>
int xcoder_rtp_in(struct xcoder *x, const uint8_t *pkt, size_t len, uint64_t now_ms,
		  uint8_t *const *out, size_t out_cap, size_t *out_len, int out_max)
{ (void)x; (void)pkt; (void)len; (void)now_ms; (void)out; (void)out_cap; (void)out_len; (void)out_max; return -ENOSYS; }
void xcoder_rtcp_in(struct xcoder *x, const uint8_t *pkt, size_t len, uint64_t now_ms)
{ (void)x; (void)pkt; (void)len; (void)now_ms; }
void xcoder_free(struct xcoder *x) { free(x); }
int xcoder_new(const struct xcoder_cfg *cfg, struct xcoder **out) { (void)cfg; *out = NULL; return -ENOSYS; }
