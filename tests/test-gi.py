#!/usr/bin/env python3
"""test-gi.py: libdal from Python through GObject Introspection.

Run by tests/test-gi.sh, which points GI_TYPELIB_PATH and LD_LIBRARY_PATH
at the build tree.  TAP on stdout.  Offline: enums, the error domain and
boxed types.  Live (under tests/harness/pg-harness), on both PostgreSQL
plugins: a parameterised query blocking and async on a GLib.MainLoop, a
failing query's SQLSTATE read through Dal.ErrorDetails (blocking and
async), and a pool one-shot.
"""
import os
import sys
import traceback
from urllib.parse import quote

import gi

gi.require_version("GLib", "2.0")
gi.require_version("Dal", "1.0")
from gi.repository import Dal, GLib  # noqa: E402

results = []


def check(name, func):
    """Runs one test point; any exception (an assert included) fails it."""
    try:
        func()
        results.append((True, name, None))
    except Exception:  # noqa: BLE001 - every failure is reported
        results.append((False, name, traceback.format_exc()))


def live_url(driver, extra=""):
    env = os.environ
    url = "postgresql+%s://%s:%s@127.0.0.1:%s/%s?sslmode=verify-full&sslrootcert=%s" % (
        driver,
        quote(env["DAL_TEST_PG_USER"], safe=""),
        quote(env["DAL_TEST_PG_PASSWORD"], safe=""),
        env["DAL_TEST_PG_PORT"],
        quote(env["DAL_TEST_PG_DATABASE"], safe=""),
        quote(env["DAL_TEST_CA_FILE"], safe=""),
    )
    return url + extra


def run_loop(start, what):
    """Runs a GLib.MainLoop until start(done) calls done(value); fails
    after 30 s rather than hanging.  Returns the value."""
    loop = GLib.MainLoop()
    box = {}

    def done(value):
        box.setdefault("value", value)
        loop.quit()

    def too_late():
        box.setdefault("timeout", True)
        loop.quit()
        return GLib.SOURCE_REMOVE

    timer = GLib.timeout_add_seconds(30, too_late)
    start(done)
    loop.run()
    if "timeout" in box:
        raise AssertionError("%s: no callback in 30 s" % what)
    GLib.source_remove(timer)
    return box["value"]


def dal_error_of(func):
    """Calls func, which must raise a DAL_ERROR; returns the exception and
    the Dal.ErrorDetails read right after catching it."""
    try:
        func()
    except GLib.Error as e:
        details = Dal.ErrorDetails.get_last()
        return e, details
    raise AssertionError("no error raised")


def check_query_error(e, details, sqlstate):
    assert e.domain == GLib.quark_to_string(Dal.error_quark()), e.domain
    assert e.code == int(Dal.ErrorCode.QUERY_FAILED), (e.code, e.message)
    assert details is not None, "Dal.ErrorDetails.get_last() gave None"
    assert details.get_message() == e.message, (details.get_message(), e.message)
    assert details.get_code() == Dal.ErrorCode.QUERY_FAILED
    assert details.get_sqlstate() == sqlstate, details.get_sqlstate()
    assert details.get_field(Dal.ErrorField.SQLSTATE) == sqlstate


# -- offline --

def enums():
    assert Dal.ErrorCode.QUERY_FAILED.value_nick == "query-failed"
    assert Dal.error_code_to_string(Dal.ErrorCode.AUTH_FAILED) == "auth-failed"
    assert Dal.ErrorCode(int(Dal.ErrorCode.POOL_TIMEOUT)) == Dal.ErrorCode.POOL_TIMEOUT
    assert Dal.ColumnType.INT64.value_nick == "int64"
    assert Dal.ErrorField.SQLSTATE.value_nick == "sqlstate"


def url_error():
    e, details = dal_error_of(lambda: Dal.Url.parse("postgresql+asyncpg://[::1"))
    assert e.code == int(Dal.ErrorCode.URL_MALFORMED), (e.code, e.message)
    assert details is not None and details.get_code() == Dal.ErrorCode.URL_MALFORMED
    assert details.get_sqlstate() is None


def registry_boxed():
    reg = Dal.Registry.get_default()
    url = Dal.Url.parse("postgresql+psycopg2://u@127.0.0.1/db")
    plugin = reg.resolve(url)
    assert plugin.get_dialect() == "postgresql", plugin.get_dialect()
    assert "psycopg2" in plugin.get_drivers(), plugin.get_drivers()
    assert not plugin.is_async()
    del reg  # the plugin holds its registry
    assert plugin.get_name(), "a plugin without a name"


check("enums as GTypes, by name and nick", enums)
check("a malformed URL raises URL_MALFORMED; its details have no SQLSTATE", url_error)
check("boxed registry and plugin", registry_boxed)

# -- live --

if os.environ.get("DAL_TEST_PG_PORT"):
    for driver in ("asyncpg", "psycopg2"):
        url = live_url(driver)

        def blocking(url=url):
            conn = Dal.Connection.open(url, None)
            r = conn.query("SELECT $1::int8 + 1, upper($2)",
                           GLib.Variant("(xs)", (41, "hello")), None)
            assert r.get_n_rows() == 1
            assert r.get_int64(0, 0) == 42
            assert r.get_string(0, 1)[0] == "HELLO"
            e, details = dal_error_of(
                lambda: conn.query("SELECT * FROM dal_gi_no_such_table",
                                   GLib.Variant("()", ()), None))
            check_query_error(e, details, "42P01")
            conn.close(None)

        def asynchronous(url=url):
            conn = run_loop(
                lambda done: Dal.Connection.open_async(
                    url, None, lambda _s, res: done(Dal.Connection.open_finish(res))),
                "open_async")

            def ok_query(done):
                conn.query_async("SELECT $1::text || '!'", GLib.Variant("(s)", ("async",)),
                                 None, lambda c, res: done(c.query_finish(res)))
            r = run_loop(ok_query, "query_async")
            assert r.get_string(0, 0)[0] == "async!"

            def bad_query(done):
                def finished(c, res):
                    try:
                        c.query_finish(res)
                        done(None)
                    except GLib.Error as e:
                        done((e, Dal.ErrorDetails.get_last()))
                conn.query_async("SELECT 1 / $1::int", GLib.Variant("(i)", (0,)),
                                 None, finished)
            caught = run_loop(bad_query, "query_async (division by zero)")
            assert caught is not None, "division by zero did not fail"
            check_query_error(caught[0], caught[1], "22012")
            conn.close(None)

        def pool(url=url):
            p = Dal.Pool.open(live_url(driver, "&pool_min_size=1&pool_max_size=2"), None)
            r = p.query("SELECT $1::int8 * 2", GLib.Variant("(x)", (21,)), None)
            assert r.get_int64(0, 0) == 42
            stats = p.get_stats()
            assert 1 <= stats.size <= 2, stats.size
            p.close()

        check("%s: open and a parameterised query, blocking; a query error's SQLSTATE" % driver,
              blocking)
        check("%s: open_async and query_async on a GLib.MainLoop; an async error's SQLSTATE"
              % driver, asynchronous)
        check("%s: a pool one-shot and its counters" % driver, pool)
elif os.environ.get("DAL_TEST_REQUIRE_SERVER") == "1":
    results.append((False, "no live server although DAL_TEST_REQUIRE_SERVER=1", None))

print("1..%d" % len(results))
for i, (ok, name, tb) in enumerate(results, 1):
    print("%s %d - %s" % ("ok" if ok else "not ok", i, name))
    if tb:
        for line in tb.rstrip().splitlines():
            print("# " + line)
sys.exit(0 if all(ok for ok, _, _ in results) else 1)
