/* test_config.c - the option table: defaults, command line, INI file, errors. */
#include "unit.h"
#include "config.h"
#include "schedule.h"

#include <sched.h>

#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

static int load(struct rg_config *c, char **argv, char *err, size_t errlen)
{
	int argc = 0;
	while (argv[argc])
		argc++;
	return config_load(c, argc, argv, err, errlen);
}

static void t_defaults(void)
{
	struct rg_config c;
	char err[256] = "";
	char *argv[] = { "rtpgate", NULL };
	EXPECT_INT(load(&c, argv, err, sizeof(err)), 0);
	EXPECT_INT(c.port_min, 10000);
	EXPECT_INT(c.port_max, 20000);
	EXPECT_STR(c.listen_ng, "127.0.0.1:22222");
	EXPECT_STR(c.listen_unix, "/run/rtpgate/ng.sock");
	EXPECT_INT(c.ninterfaces, 1);
	EXPECT_STR(c.interfaces[0], "127.0.0.1");
	EXPECT_INT(c.unix_mode, 0660);
	config_free(&c);
}

static void t_command_line(void)
{
	struct rg_config c;
	char err[256] = "";
	char *argv[] = { "rtpgate", "--interface=10.0.0.1!203.0.113.5", "--interface", "pub/192.0.2.1",
			 "--port-min=30000", "--port-max", "30100", "--foreground", "--timeout=5", NULL };
	EXPECT_INT(load(&c, argv, err, sizeof(err)), 0);
	EXPECT_INT(c.ninterfaces, 2);
	EXPECT_STR(c.interfaces[0], "10.0.0.1!203.0.113.5");
	EXPECT_STR(c.interfaces[1], "pub/192.0.2.1");
	EXPECT_INT(c.port_min, 30000);
	EXPECT_INT(c.port_max, 30100);
	EXPECT_INT(c.foreground, 1);
	EXPECT_INT(c.timeout, 5);
	config_free(&c);
}

static void t_errors_name_the_option(void)
{
	struct rg_config c;
	char err[256];
	char *a1[] = { "rtpgate", "--port-min=abc", NULL };
	EXPECT_INT(load(&c, a1, err, sizeof(err)), -22);
	EXPECT(strstr(err, "--port-min") != NULL);
	config_free(&c);
	char *a2[] = { "rtpgate", "--port-max=70000", NULL };
	EXPECT_INT(load(&c, a2, err, sizeof(err)), -22);
	EXPECT(strstr(err, "--port-max") != NULL);
	config_free(&c);
	char *a3[] = { "rtpgate", "--no-such-thing", NULL };
	EXPECT_INT(load(&c, a3, err, sizeof(err)), -22);
	EXPECT(strstr(err, "--no-such-thing") != NULL);
	config_free(&c);
	char *a4[] = { "rtpgate", "--port-min=20000", "--port-max=10000", NULL };
	EXPECT_INT(load(&c, a4, err, sizeof(err)), -22);
	EXPECT(strstr(err, "--port-min") != NULL);
	config_free(&c);
}

static void t_config_file_then_command_line(void)
{
	char path[] = "/tmp/rtpgate-test-XXXXXX";
	int fd = mkstemp(path);
	const char *ini = "[rtpgate]\ninterface = 127.0.0.2\nport-min = 40000\nport-max = 40100\n"
			  "timeout = 7\n[other]\nwhatever = 1\n";
	EXPECT_INT(write(fd, ini, strlen(ini)), (long long)strlen(ini));
	close(fd);
	struct rg_config c;
	char err[256] = "";
	char arg[64];
	snprintf(arg, sizeof(arg), "--config-file=%s", path);
	char *argv[] = { "rtpgate", arg, "--timeout=9", NULL };
	EXPECT_INT(load(&c, argv, err, sizeof(err)), 0);
	EXPECT_STR(c.interfaces[0], "127.0.0.2");
	EXPECT_INT(c.port_min, 40000);
	EXPECT_INT(c.timeout, 9);   /* the command line wins */
	config_free(&c);

	fd = open(path, O_WRONLY | O_TRUNC);
	const char *bad = "[rtpgate]\nport-mn = 1\n";
	EXPECT_INT(write(fd, bad, strlen(bad)), (long long)strlen(bad));
	close(fd);
	EXPECT_INT(load(&c, argv, err, sizeof(err)), -22);
	EXPECT(strstr(err, "port-mn") != NULL);
	config_free(&c);
	unlink(path);
}

/* --scheduling/--priority: rtpengine's meaning, bad pairs named */
static void t_schedule(void)
{
	struct schedule_cfg sc;
	char err[256] = "", buf[32];
	EXPECT_INT(schedule_parse("fifo", 5, &sc, err, sizeof(err)), 0);
	EXPECT(sc.set_policy && sc.policy == SCHED_FIFO && !sc.set_nice);
	schedule_describe(&sc, buf, sizeof(buf));
	EXPECT_STR(buf, "fifo/5");
	EXPECT_INT(schedule_parse("rr", 99, &sc, err, sizeof(err)), 0);
	EXPECT(sc.policy == SCHED_RR);
	EXPECT_INT(schedule_parse("batch", -3, &sc, err, sizeof(err)), 0);
	EXPECT(sc.set_policy && sc.policy == SCHED_BATCH && sc.set_nice && sc.prio == -3);
	schedule_describe(&sc, buf, sizeof(buf));
	EXPECT_STR(buf, "batch nice -3");
	/* no policy: the priority is a nice value; 0 leaves the thread alone */
	EXPECT_INT(schedule_parse("default", 0, &sc, err, sizeof(err)), 0);
	EXPECT(!sc.set_policy && !sc.set_nice);
	schedule_describe(&sc, buf, sizeof(buf));
	EXPECT_STR(buf, "default");
	EXPECT_INT(schedule_parse("none", 4, &sc, err, sizeof(err)), 0);
	EXPECT(!sc.set_policy && sc.set_nice && sc.prio == 4);
	EXPECT_INT(schedule_parse("fifo", 0, &sc, err, sizeof(err)), -22);
	EXPECT(strstr(err, "1..99") != NULL);
	EXPECT_INT(schedule_parse("rr", 100, &sc, err, sizeof(err)), -22);
	EXPECT_INT(schedule_parse("idle", 20, &sc, err, sizeof(err)), -22);
	EXPECT(strstr(err, "-20..19") != NULL);
	EXPECT_INT(schedule_parse("default", 30, &sc, err, sizeof(err)), -22);
	EXPECT_INT(schedule_parse("deadline", 1, &sc, err, sizeof(err)), -22);
	EXPECT(strstr(err, "deadline") != NULL);
	/* the option table checks the pair too */
	struct rg_config c;
	char *argv[] = { "rtpgate", "--scheduling=fifo", NULL };
	EXPECT_INT(load(&c, argv, err, sizeof(err)), -22);
	EXPECT(strstr(err, "--scheduling=fifo") != NULL);
	config_free(&c);
	char *argv2[] = { "rtpgate", "--scheduling=rr", "--priority=7", NULL };
	EXPECT_INT(load(&c, argv2, err, sizeof(err)), 0);
	EXPECT_STR(c.scheduling, "rr");
	EXPECT_INT(c.priority, 7);
	config_free(&c);
}

const struct unit_case unit_cases[] = {
	UNIT(t_defaults), UNIT(t_command_line), UNIT(t_errors_name_the_option),
	UNIT(t_config_file_then_command_line), UNIT(t_schedule), { 0 },
};
