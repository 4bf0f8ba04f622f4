/* registry.c - every codec rtpgate knows, as one table of static const
 * descriptions, and the lookups over it.
 *
 * A description carries what negotiation needs (SDP name, static payload
 * type, RTP clock, rtpmap channels, packetisation limits, the fmtp we
 * offer) and a pointer to the codec's private operations. Adding a codec
 * means writing its ops in one file and adding one entry here. The order of
 * the table is rtpgate's preference order.
 */
#include "codec_impl.h"

#include <errno.h>
#include <strings.h>

#include <opus.h>

static const struct codec_desc pcmu = {
	.name = "PCMU", .id = CODEC_ID_PCMU, .audio = true,
	.payload_type = 0, .clock_rate = 8000, .channels = 1,
	.pcm_rate = 8000, .ptime_ms = 20, .ptime_step_ms = 10,
	.ptime_max_ms = 120, .fmtp = "", .ops = &codec_pcmu_ops,
};

static const struct codec_desc pcma = {
	.name = "PCMA", .id = CODEC_ID_PCMA, .audio = true,
	.payload_type = 8, .clock_rate = 8000, .channels = 1,
	.pcm_rate = 8000, .ptime_ms = 20, .ptime_step_ms = 10,
	.ptime_max_ms = 120, .fmtp = "", .ops = &codec_pcma_ops,
};

/* RFC 7587: the RTP clock is 48000 and rtpmap says 2 channels, whatever the
 * codec runs at and however many channels are actually sent. */
static const struct codec_desc opus = {
	.name = "opus", .id = CODEC_ID_OPUS, .audio = true,
	.payload_type = -1, .clock_rate = 48000, .channels = 2,
	.pcm_rate = 48000, .ptime_ms = 20, .ptime_step_ms = 10,
	.ptime_max_ms = 120, .fmtp = "useinbandfec=1", .ops = &codec_opus_ops,
};

/* RFC 4856: no annexb parameter means annexb=yes. */
static const struct codec_desc g729 = {
	.name = "G729", .id = CODEC_ID_G729, .audio = true,
	.payload_type = 18, .clock_rate = 8000, .channels = 1,
	.pcm_rate = 8000, .ptime_ms = 20, .ptime_step_ms = 10,
	.ptime_max_ms = 120, .fmtp = "", .ops = &codec_g729_ops,
};

static const struct codec_desc tev8 = {
	.name = "telephone-event", .id = CODEC_ID_TELEPHONE_EVENT,
	.audio = false, .payload_type = -1, .clock_rate = 8000, .channels = 1,
	.fmtp = "0-15",
};

static const struct codec_desc tev48 = {
	.name = "telephone-event", .id = CODEC_ID_TELEPHONE_EVENT,
	.audio = false, .payload_type = -1, .clock_rate = 48000, .channels = 1,
	.fmtp = "0-15",
};

static const struct codec_desc *const registry[] = {
	&pcmu, &pcma, &opus, &g729, &tev8, &tev48,
};

#define NREG (sizeof(registry) / sizeof(registry[0]))

const struct codec_desc *const *codec_registry(size_t *count)
{
	if (count)
		*count = NREG;
	return registry;
}

const struct codec_desc *codec_find(const char *name, int clock, int channels)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < NREG; i++) {
		const struct codec_desc *d = registry[i];
		if (strcasecmp(d->name, name) != 0)
			continue;
		if (clock && clock != d->clock_rate)
			continue;
		/* "opus/48000" (no channels) is wrong but common: accept 1 */
		if (channels && channels != d->channels &&
		    !(d->id == CODEC_ID_OPUS && channels == 1))
			continue;
		return d;
	}
	return NULL;
}

const struct codec_desc *codec_find_static(int payload_type)
{
	for (size_t i = 0; i < NREG; i++)
		if (payload_type >= 0 && registry[i]->payload_type == payload_type)
			return registry[i];
	return NULL;
}

bool codec_ptime_ok(const struct codec_desc *desc, int ms)
{
	if (!desc || !desc->ptime_step_ms || ms <= 0)
		return false;
	return ms % desc->ptime_step_ms == 0 && ms <= desc->ptime_max_ms;
}

uint32_t codec_samples_to_ts(const struct codec_desc *desc, int pcm_rate,
			     uint32_t samples)
{
	if (!desc || pcm_rate <= 0 || pcm_rate == desc->clock_rate)
		return samples;
	return (uint32_t)((uint64_t)samples * (uint64_t)desc->clock_rate /
			  (uint64_t)pcm_rate);
}

uint32_t codec_ts_to_samples(const struct codec_desc *desc, int pcm_rate,
			     uint32_t ts)
{
	if (!desc || pcm_rate <= 0 || pcm_rate == desc->clock_rate)
		return ts;
	return (uint32_t)((uint64_t)ts * (uint64_t)pcm_rate /
			  (uint64_t)desc->clock_rate);
}

int codec_payload_duration(const struct codec_desc *desc,
			   const uint8_t *payload, size_t len)
{
	if (!desc || (!payload && len))
		return -EINVAL;
	if (!desc->ops)
		return -ENOTSUP;
	return desc->ops->duration(payload, len);
}
