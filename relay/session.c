/* session.c - msession lifetime; see session.h. */
#include "session.h"

#include "srtp.h"
#include "transcode.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct msession *msession_new(const char *call_id, int nmedia)
{
	struct msession *ms = calloc(1, sizeof(*ms));
	if (!ms)
		return NULL;
	ms->st = calloc((size_t)nmedia * 4, sizeof(*ms->st));
	ms->mm = calloc((size_t)nmedia * 2, sizeof(*ms->mm));
	ms->call_id = strdup(call_id);
	if (!ms->st || !ms->mm || !ms->call_id) {
		free(ms->st);
		free(ms->mm);
		free(ms->call_id);
		free(ms);
		return NULL;
	}
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
	free(ms->st);
	free(ms->mm);
	free(ms->call_id);
	free(ms);
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
