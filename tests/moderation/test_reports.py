"""Reports: filing and updating them, the reporter's anonymity, the limit, and the queue."""

from __future__ import annotations

from tests.moderation.support import report, report_ids, resolve, share, staff_client


async def test_reporting_twice_updates_the_one_report(site, image_bytes):
    ana, bo = await site.user_client("ana"), await site.user_client("bo")
    post_id = await share(bo, "hello")
    r = await report(ana, "post", post_id, "spam", "looks like an ad")
    assert r.status_code == 303 and "sent=1" in r.headers["location"]
    assert "Thank you" in (await ana.get(r.headers["location"])).text
    assert (await report(ana, "post", post_id, "harassment", "it is about me")).status_code == 303
    rows, _ = await site.ctx.moderation.queue()
    assert len(rows) == 1
    assert (rows[0].report.reason, rows[0].report.note) == ("harassment", "it is about me")
    assert rows[0].subject.username == "bo" and rows[0].reporter.username == "ana"


async def test_every_kind_can_be_reported(site, image_bytes):
    ana, bo = await site.user_client("ana"), await site.user_client("bo")
    post_id = await share(bo, "hello")
    await bo.post(f"/p/{post_id}/comments", {"body": "rude words"})
    comment_id = (await site.ctx.interactions.comments(None, post_id))[0][0].comment.id
    bo_id = (await site.ctx.accounts.by_username("bo")).id
    for kind, target in (("post", post_id), ("comment", comment_id), ("account", bo_id)):
        form = await ana.get(f"/report?kind={kind}&id={target}")
        assert form.status_code == 200 and 'name="reason"' in form.text
        assert (await report(ana, kind, target, "other")).status_code == 303
    rows, _ = await site.ctx.moderation.queue()
    assert sorted(r.report.kind for r in rows) == ["account", "comment", "post"]
    assert {r.subject.username for r in rows} == {"bo"}


async def test_bad_reports_are_refused_with_a_reason(site, image_bytes):
    ana, bo = await site.user_client("ana"), await site.user_client("bo")
    post_id = await share(bo)
    ana_post = await share(ana)
    assert (await report(ana, "post", ana_post)).status_code == 400  # yourself
    r = await report(ana, "post", post_id, "boredom")
    assert r.status_code == 400 and "Choose a reason" in r.text
    assert (await report(ana, "post", post_id, "spam", "x" * 1001)).status_code == 400
    assert (await report(ana, "photo", post_id)).status_code == 400
    assert (await ana.post("/report", {"kind": "post", "id": "²", "reason": "spam"})).status_code == 400
    assert (await report(ana, "post", 999999999)).status_code == 404
    assert (await ana.get("/report?kind=post&id=-1")).status_code == 400
    assert (await report(site.client(), "post", post_id)).status_code == 403  # signed out
    assert (await site.ctx.moderation.queue())[0] == []


async def test_a_post_the_reporter_cannot_see_cannot_be_reported(site, image_bytes):
    ana, bo = await site.user_client("ana"), await site.user_client("bo")
    post_id = await share(bo)
    await bo.post("/settings/profile", {"display_name": "", "bio": "", "locale": "", "private": "on"})
    assert (await report(ana, "post", post_id)).status_code == 404


async def test_reports_are_rate_limited_per_person(site, image_bytes):
    ana, bo, cy = [await site.user_client(n) for n in ("ana", "bo", "cy")]
    posts = [await share(bo) for _ in range(6)]
    for post_id in posts[:5]:
        assert (await report(ana, "post", post_id)).status_code == 303
    r = await report(ana, "post", posts[5])
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    assert (await report(cy, "post", posts[5])).status_code == 303  # someone else may


async def test_the_reported_person_never_learns_who_reported(site, image_bytes):
    ana, bo = await site.user_client("quietana"), await site.user_client("bo")
    mod = await staff_client(site, "zedmod")
    post_id = await share(bo)
    await report(ana, "post", post_id, "spam")
    [row], _ = await site.ctx.moderation.queue()
    assert (await resolve(mod, row.report.id, "warn", "please stop")).status_code == 303
    page = (await bo.get("/notifications")).text
    assert "warned you" in page
    assert "quietana" not in page and "zedmod" not in page
    # The reporter hears it was handled, from the site, and not what was done.
    page = (await ana.get("/notifications")).text
    assert "handled your report" in page and "zedmod" not in page and "warned" not in page


async def test_the_queue_filters_and_resolving_closes_every_report_of_the_thing(site, image_bytes):
    ana, cy, bo = [await site.user_client(n) for n in ("ana", "cy", "bo")]
    mod = await staff_client(site, "mod")
    spam_post, rude_post = await share(bo), await share(bo)
    await report(ana, "post", spam_post, "spam")
    await report(cy, "post", spam_post, "spam")
    await report(ana, "post", rude_post, "harassment", "mean caption")
    page = await mod.get("/admin/reports")
    assert len(report_ids(page.text)) == 3 and "2 open reports" in page.text
    harassment = report_ids((await mod.get("/admin/reports?reason=harassment")).text)
    assert len(harassment) == 1
    detail = await mod.get(f"/admin/reports/{harassment[0]}")
    assert "mean caption" in detail.text and f"/p/{rude_post}" in detail.text
    assert "@ana" in detail.text  # moderators see who reported
    spam = report_ids((await mod.get("/admin/reports?reason=spam")).text)
    assert (await resolve(mod, spam[0], "dismiss", "not spam")).status_code == 303
    assert report_ids((await mod.get("/admin/reports")).text) == harassment
    assert len(report_ids((await mod.get("/admin/reports?status=resolved")).text)) == 2
    assert len(report_ids((await mod.get("/admin/reports?status=")).text)) == 3
    # Handled once is handled: a second decision is refused.
    assert (await resolve(mod, spam[1], "suspend")).status_code == 409
    assert "handled your report" in (await cy.get("/notifications")).text
    assert (await mod.get("/admin/reports?status=nope")).status_code == 400
    assert (await mod.get("/admin/reports/123")).status_code == 404
    assert (await resolve(mod, harassment[0], "explode")).status_code == 400


async def test_removing_the_content(site, image_bytes):
    ana, bo = await site.user_client("ana"), await site.user_client("bo")
    mod = await staff_client(site, "mod")
    post_id = await share(bo)
    other = await share(bo)
    await bo.post(f"/p/{other}/comments", {"body": "buy pills"})
    comment_id = (await site.ctx.interactions.comments(None, other))[0][0].comment.id
    await report(ana, "post", post_id)
    await report(ana, "comment", comment_id)
    rows, _ = await site.ctx.moderation.queue()
    for row in rows:
        assert (await resolve(mod, row.report.id, "remove", "gone")).status_code == 303
    assert (await ana.get(f"/p/{post_id}")).status_code == 404
    assert "buy pills" not in (await ana.get(f"/p/{other}")).text
    # The queue still opens the report, and says the content is gone.
    assert "has been deleted" in (await mod.get(f"/admin/reports/{rows[0].report.id}")).text
    entries, _ = await site.ctx.moderation.log()
    assert [e.action for e in entries][:2] == ["report.remove", "report.remove"]
