/* test_rtpp.c - the rtpproxy command parser (rtpp_parse.c): the commands
 * Kamailio 5.6's rtpproxy module sends, the modifiers, and malformed input
 * with the error code it must get. */
#include "unit.h"
#include "rtpp.h"

static struct rtpp_cmd c;
static char err[200];

static int parse(const char *s)
{
	return rtpp_parse(s, strlen(s), &c, err, sizeof(err));
}

static void t_version(void)
{
	EXPECT_INT(parse("V"), 0);
	EXPECT_INT(c.op, RTPP_V);
	EXPECT_INT(parse("VF 20081102\n"), 0);
	EXPECT_INT(c.op, RTPP_VF);
	EXPECT_STR(c.date, "20081102");
	EXPECT(rtpp_has_capability("20040107"));
	EXPECT(rtpp_has_capability("20050322"));
	EXPECT(rtpp_has_capability("20081102"));
	EXPECT(!rtpp_has_capability("20071116"));
	EXPECT(!rtpp_has_capability("20090810"));
	EXPECT(!rtpp_has_capability("2004010"));
	EXPECT_INT(parse("VF"), -1);
	EXPECT_INT(parse("VX"), -2);
}

/* byte for byte what Kamailio's rtpproxy_offer("co") writes for SIPp's INVITE */
static void t_kamailio_offer(void)
{
	EXPECT_INT(parse("Uc8,101 1-2345@127.0.0.1 127.0.0.1 6000 24SIPpTag001;1"), 0);
	EXPECT_INT(c.op, RTPP_U);
	EXPECT_STR(c.call_id, "1-2345@127.0.0.1");
	EXPECT_STR(c.addr, "127.0.0.1");
	EXPECT_INT(c.port, 6000);
	EXPECT_STR(c.from_tag, "24SIPpTag001");
	EXPECT(c.to_tag == NULL);
	EXPECT_INT(c.medianum, 1);
	EXPECT_INT(c.npts, 2);
	EXPECT_INT(c.pts[0], 8);
	EXPECT_INT(c.pts[1], 101);
	EXPECT(!c.ipv6);
}

static void t_kamailio_answer(void)
{
	EXPECT_INT(parse("LAIEc0 cid 10.0.0.1 7000 ft;2 tt;2"), 0);
	EXPECT_INT(c.op, RTPP_L);
	EXPECT_STR(c.from_tag, "ft");
	EXPECT_STR(c.to_tag, "tt");
	EXPECT_INT(c.medianum, 2);
	EXPECT(c.asymmetric);
	EXPECT_INT(c.dir[0], 'i');
	EXPECT_INT(c.dir[1], 'e');
	EXPECT_INT(parse("U6Z30 cid ::1 7000 ft"), 0);
	EXPECT(c.ipv6);
	EXPECT_INT(c.ptime, 30);
	/* an IPv6 address without the 6 modifier is still IPv6 */
	EXPECT_INT(parse("U cid 2001:db8::1 7000 ft"), 0);
	EXPECT(c.ipv6);
}

static void t_delete_query(void)
{
	EXPECT_INT(parse("D cid ft tt"), 0);
	EXPECT_INT(c.op, RTPP_D);
	EXPECT_STR(c.to_tag, "tt");
	EXPECT_INT(parse("Q cid ft;1 tt"), 0);   /* Kamailio's $rtpstat form */
	EXPECT_STR(c.from_tag, "ft");
	EXPECT_INT(parse("I"), 0);
	EXPECT_INT(parse("Ib"), 0);
	EXPECT_INT(parse("X"), 0);
	EXPECT_INT(parse("D cid"), -1);
	EXPECT_INT(parse("Xy"), -1);
}

static void t_errors(void)
{
	EXPECT_INT(parse(""), -1);
	EXPECT_INT(parse("\r\n"), -1);
	EXPECT_INT(parse("U cid 1.2.3.4 65536 t"), -3);
	EXPECT_INT(parse("U cid 1.2.3.4 -1 t"), -3);
	EXPECT_INT(parse("U cid 1.2.3.4 99999999999999 t"), -3);
	EXPECT_INT(parse("U cid host.example 5 t"), -3);
	EXPECT_INT(parse("U6 cid 1.2.3.4 5 t"), -3);
	EXPECT_INT(parse("Uc128 cid 1.2.3.4 5 t"), -1);
	EXPECT_INT(parse("Uc cid 1.2.3.4 5 t"), -1);
	EXPECT_INT(parse("Uc8, cid 1.2.3.4 5 t"), -1);
	EXPECT_INT(parse("Uz0 cid 1.2.3.4 5 t"), -1);
	EXPECT_INT(parse("Uiei cid 1.2.3.4 5 t"), -1);
	EXPECT_INT(parse("Uq cid 1.2.3.4 5 t"), -1);
	EXPECT_INT(parse("U cid 1.2.3.4 5 t;1 u;2"), -1);
	EXPECT_INT(parse("U cid 1.2.3.4 5 t;17"), -1);
	EXPECT_INT(parse("U cid 1.2.3.4 5 ;1"), -1);
	EXPECT_INT(parse("L cid 1.2.3.4 5 t"), -1);
	EXPECT_INT(parse("U a b c d e f g h i"), -1);
	EXPECT_INT(parse("?"), -2);
	EXPECT(strstr(err, "unknown command") != NULL);
	char nul[] = "U cid\0 1.2.3.4 5 t";
	EXPECT_INT(rtpp_parse(nul, sizeof(nul) - 1, &c, err, sizeof(err)), -1);
	char big[RTPP_MAX_LINE + 10];
	memset(big, 'x', sizeof(big));
	big[0] = 'U';
	big[1] = ' ';
	EXPECT_INT(rtpp_parse(big, sizeof(big), &c, err, sizeof(err)), -1);
	char longid[700];
	memset(longid, 0, sizeof(longid));
	memcpy(longid, "D ", 2);
	memset(longid + 2, 'c', RTPP_MAX_CALLID + 1);
	strcat(longid, " t");
	EXPECT_INT(parse(longid), -1);
	longid[2 + RTPP_MAX_CALLID] = ' ';
	EXPECT_INT(parse(longid), 0);
	/* every error names what was wrong */
	EXPECT_INT(parse("U cid 1.2.3.4 70000 t"), -3);
	EXPECT(strstr(err, "70000") != NULL);
}

const struct unit_case unit_cases[] = {
	UNIT(t_version), UNIT(t_kamailio_offer), UNIT(t_kamailio_answer),
	UNIT(t_delete_query), UNIT(t_errors), { 0 },
};
