/* session.c - msession lifetime; see session.h.
 *
 * A session is one allocation: the header, its streams, its stages and the
 * call-id copy (a control-path malloc per call instead of four).
 */
#include "session.h"

#include "srtp.h"
#include "transcode.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct msession *msession_new(const char *call_id, int nmedia)
{
	struct msession *ms;
	size_t o_st = (sizeof(*ms) + 15) & ~(size_t)15;
	size_t o_mm = o_st + (size_t)nmedia * 4 * sizeof(*ms->st);
	size_t o_id = o_mm + (size_t)nmedia * 2 * sizeof(*ms->mm);
	size_t idlen = strlen(call_id);
	char *mem = calloc(1, o_id + idlen + 1);
	if (!mem)
		return NULL;
	ms = (struct msession *)mem;
	ms->st = (struct mstream *)(mem + o_st);
	ms->mm = (struct mmedia *)(mem + o_mm);
	ms->call_id = mem + o_id;
	memcpy(ms->call_id, call_id, idlen);
	atomic_init(&ms->refs, 1);
	ms->nmedia = nmedia;
	for (int l = 0; l < 2; l++)
		for (int m = 0; m < nmedia; m++)
			for (int c = 0; c < 2; c++) {
				struct mstream *s = msession_stream(ms, l, m, c);
				s->ms = ms;
				s->fd = -1;
				s->leg = (uint8_t)l;
				s->media = (uint8_t)m;
				s->comp = (uint8_t)c;
			}
	return ms;
}

void msession_ref(struct msession *ms) { atomic_fetch_add(&ms->refs, 1); }

void msession_unref(struct msession *ms)
{
	if (atomic_fetch_sub(&ms->refs, 1) != 1)
		return;
	msession_free_stages(ms);
	free(ms);   /* streams, stages and call-id live in the same block */
}

void mmedia_replace(struct mmedia *cur, const struct mmedia *st, unsigned which)
{
	if (which & STAGE_SRTP_RX) {
		srtp_dir_destroy(cur->srtp_rx);
		cur->srtp_rx = st->srtp_rx;
	}
	if (which & STAGE_SRTP_TX) {
		srtp_dir_destroy(cur->srtp_tx);
		cur->srtp_tx = st->srtp_tx;
	}
	if (which & STAGE_XC) {
		if (cur->xc)
			xcoder_free(cur->xc);
		cur->xc = st->xc;
	}
}

void msession_free_stages(struct msession *ms)
{
	for (int i = 0; i < ms->nmedia * 2; i++) {
		struct mmedia *m = &ms->mm[i];
		srtp_dir_destroy(m->srtp_rx);
		srtp_dir_destroy(m->srtp_tx);
		if (m->xc)
			xcoder_free(m->xc);
		m->srtp_rx = m->srtp_tx = NULL;
		m->xc = NULL;
	}
}

void msession_close_fds(struct msession *ms)
{
	for (int i = 0; i < ms->nmedia * 4; i++)
		if (ms->st[i].fd >= 0) {
			close(ms->st[i].fd);
			ms->st[i].fd = -1;
		}
}
