/*
 * How fresh the agent's view is: the lag from a change on the customer's page to this screen,
 * the bytes per minute both ways, and whether the customer's page is still sending.
 *
 * Both browsers measure their clock against the server's over their own socket (a ping with the
 * local time, a pong with the server's: offset = server - midpoint of the round trip, the sample
 * with the shortest round trip kept); the customer's widget sends its offset with each heartbeat.
 * An event's lag is then (now + agent offset) - (event timestamp + customer offset): no clock is
 * assumed to agree with another. Heartbeats, which carry the time they were sent, are samples too. The customer's heartbeat comes once a second while an agent
 * watches; nothing for SILENT_MS means a frozen page or a lost network.
 */

export var SILENT_MS = 2000;
var WINDOW_MS = 60000;

export function createFreshness(now) {
  now = now || Date.now;
  var samples = [];
  var agentOffset = null;
  var customerOffset = null;
  var lags = [];
  var lastHeard = null;
  var hidden = false;
  var received = []; // [time, bytes]
  var sent = [];

  function sample(timestamp) {
    if (agentOffset === null || customerOffset === null) return;
    lags.push(Math.max(0, now() + agentOffset - (timestamp + customerOffset)));
    if (lags.length > 9) lags.shift();
  }

  function bytesPerMinute(list) {
    var cutoff = now() - WINDOW_MS;
    while (list.length && list[0][0] < cutoff) list.shift();
    var total = 0;
    for (var i = 0; i < list.length; i++) total += list[i][1];
    return Math.round(total / 1024);
  }

  return {
    pong: function (data) {
      var t = now();
      if (typeof data.t !== "number" || typeof data.server !== "number") return;
      var rtt = t - data.t;
      if (rtt < 0 || rtt > 60000) return;
      samples.push({ rtt: rtt, offset: data.server - (data.t + t) / 2 });
      if (samples.length > 10) samples.shift();
      var best = samples.reduce(function (a, b) {
        return b.rtt < a.rtt ? b : a;
      });
      agentOffset = best.offset;
    },
    beat: function (data) {
      lastHeard = now();
      hidden = data.hidden === true;
      if (typeof data.offset === "number") customerOffset = data.offset;
      // A heartbeat is a sample too: an idle page still shows how fast it would reach the agent.
      if (typeof data.t === "number") sample(data.t);
    },
    received: function (bytes) {
      received.push([now(), bytes]);
    },
    sent: function (bytes) {
      sent.push([now(), bytes]);
    },
    // The customer's page sent these events (rrweb's, with the customer's timestamps).
    events: function (events) {
      lastHeard = now();
      hidden = false;
      var latest = 0;
      for (var i = 0; i < events.length; i++) {
        if (typeof events[i].timestamp === "number") latest = Math.max(latest, events[i].timestamp);
      }
      if (latest) sample(latest);
    },
    // Starting over (a new session, or the customer's page came back): nothing stale is kept.
    reset: function () {
      lastHeard = now();
      hidden = false;
    },
    read: function () {
      var sorted = lags.slice().sort(function (a, b) {
        return a - b;
      });
      return {
        lag: sorted.length ? Math.round(sorted[Math.floor(sorted.length / 2)]) : null,
        silentFor: lastHeard === null ? 0 : now() - lastHeard,
        hidden: hidden,
        down: bytesPerMinute(received),
        up: bytesPerMinute(sent),
        clocks: { agent: agentOffset === null ? null : Math.round(agentOffset), customer: customerOffset },
      };
    },
  };
}
