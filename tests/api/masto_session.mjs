// A whole session with masto.js (npm "masto") against a live Tornagram, as an app would run it.
// Input (environment): SITE, ALICE_TOKEN, BOB_TOKEN (obtained through the real login and
// consent pages by tests/api/test_masto_js.py), PHOTO (a JPEG's path). Prints one JSON line
// of what it saw; any failure exits non-zero with the error.
import { readFile } from "node:fs/promises";
import { createRestAPIClient, createStreamingAPIClient } from "masto";

const site = process.env.SITE;
const alice = createRestAPIClient({ url: site, accessToken: process.env.ALICE_TOKEN });
const bob = createRestAPIClient({ url: site, accessToken: process.env.BOB_TOKEN });
const photo = await readFile(process.env.PHOTO);
const seen = {};

function check(ok, what) {
  if (!ok) throw new Error(`check failed: ${what}`);
}

// Every event of a subscription, read in the background from the moment it is made (masto
// subscribes when its iterator starts), and a way to wait for the next one of a kind.
function collect(subscription) {
  const events = [];
  const waiters = [];
  let taken = 0;
  (async () => {
    for await (const event of subscription) {
      events.push(event);
      for (const wake of waiters.splice(0)) wake();
    }
  })();
  return {
    async next(wanted, timeoutMs = 10000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        while (taken < events.length) {
          const event = events[taken++];
          if (event.event === wanted) return event;
        }
        if (Date.now() > deadline) throw new Error(`no ${wanted} event`);
        await new Promise((wake) => {
          waiters.push(wake);
          setTimeout(wake, 200);
        });
      }
    },
  };
}

const instance = await alice.v2.instance.fetch();
seen.version = instance.version;
const me = await alice.v1.accounts.verifyCredentials();
const bobMe = await bob.v1.accounts.verifyCredentials();
seen.me = me.username;

const streaming = createStreamingAPIClient({
  streamingApiUrl: instance.configuration.urls.streaming,
  accessToken: process.env.ALICE_TOKEN,
});
const userSubscription = streaming.user.subscribe();
const tagSubscription = streaming.hashtag.subscribe({ tag: "cats" });
const userStream = collect(userSubscription);
const tagStream = collect(tagSubscription);
await new Promise((r) => setTimeout(r, 500));

// Photos with alt text, posted in order.
const first = await alice.v2.media.create({
  file: new Blob([photo], { type: "image/jpeg" }), description: "A red square",
});
const second = await alice.v2.media.create({
  file: new Blob([photo], { type: "image/jpeg" }), description: "Another one",
});
const ownUpdate = userStream.next("update");
const status = await alice.v1.statuses.create({
  status: "Hello #cats", mediaIds: [first.id, second.id],
});
check(status.mediaAttachments.map((m) => m.description).join("|") === "A red square|Another one",
      "alt texts in order");
seen.ownUpdate = (await ownUpdate).payload.id === status.id;
seen.tagUpdate = (await tagStream.next("update")).payload.id === status.id;

// Bob follows, favourites and comments; alice hears each as a notification.
const notified = userStream.next("notification");
await bob.v1.accounts.$select(me.id).follow();
seen.followNotification = (await notified).payload.type;
await bob.v1.statuses.$select(status.id).favourite();
const reply = await bob.v1.statuses.create({ status: "Nice @alice", inReplyToId: status.id });
check(reply.inReplyToId === status.id, "the comment replies to the post");
const notifications = await alice.v1.notifications.list({ limit: 40 });
seen.notificationTypes = notifications.map((n) => n.type).sort();

// Alice follows bob; his posts reach her home timeline, paged with Link headers.
await alice.v1.accounts.$select(bobMe.id).follow();
for (const text of ["one", "two", "three"]) {
  const media = await bob.v2.media.create({ file: new Blob([photo], { type: "image/jpeg" }) });
  await bob.v1.statuses.create({ status: `Bob ${text} #cats`, mediaIds: [media.id] });
}
const pages = [];
for await (const page of alice.v1.timelines.home.list({ limit: 2 })) {
  pages.push(page.map((s) => s.id));
  if (pages.length > 5) break;
}
seen.homePages = pages.map((p) => p.length);
const flat = pages.flat();
check(new Set(flat).size === flat.length && flat.length === 4, "paging without repeats");
const tagged = await alice.v1.timelines.tag.$select("Cats").list();
seen.tagged = tagged.length;
const found = await alice.v2.search.fetch({ q: "bob" });
seen.searchAccounts = found.accounts.map((a) => a.username);
const favourited = await bob.v1.favourites.list();
seen.favourites = favourited.map((s) => s.id).includes(status.id);

// Delete: the status goes, and the stream says so.
const deleted = userStream.next("delete");
const gone = await alice.v1.statuses.$select(status.id).remove();
check(gone.id === status.id, "the deleted status is returned");
seen.deleteEvent = (await deleted).payload === status.id;
try {
  await alice.v1.statuses.$select(status.id).fetch();
  seen.afterDelete = 200;
} catch (error) {
  seen.afterDelete = error.statusCode;
}
userSubscription.unsubscribe();
tagSubscription.unsubscribe();
streaming.close();
console.log(JSON.stringify(seen));
