/*
 * Deflate (zlib format) with the browser's own CompressionStream and DecompressionStream: no
 * library. Large frames travel compressed, as binary WebSocket messages, both ways
 * (docs/protocol.md); the server compresses and decompresses with Python's zlib.
 */

// Frames shorter than this many characters go as they are: deflate gains little on them.
export var COMPRESS_MIN = 1024;

export function canDeflate() {
  return typeof CompressionStream === "function" && typeof DecompressionStream === "function";
}

function through(stream, bytes) {
  var writer = stream.writable.getWriter();
  writer.write(bytes).catch(function () {});
  writer.close().catch(function () {});
  var reader = stream.readable.getReader();
  var parts = [];
  var size = 0;
  function pump() {
    return reader.read().then(function (step) {
      if (step.done) {
        var whole = new Uint8Array(size);
        var at = 0;
        parts.forEach(function (part) {
          whole.set(part, at);
          at += part.length;
        });
        return whole;
      }
      parts.push(step.value);
      size += step.value.length;
      return pump();
    });
  }
  return pump();
}

// The text deflated, or null when this browser cannot (the caller sends the text).
export function deflate(text) {
  if (!canDeflate()) return Promise.resolve(null);
  try {
    return through(new CompressionStream("deflate"), new TextEncoder().encode(text)).catch(
      function () {
        return null;
      },
    );
  } catch {
    return Promise.resolve(null);
  }
}

// The text of a deflated binary frame (ArrayBuffer or Uint8Array); rejects on a broken one.
export function inflate(buffer) {
  var bytes = buffer instanceof Uint8Array ? buffer : new Uint8Array(buffer);
  return through(new DecompressionStream("deflate"), bytes).then(function (whole) {
    return new TextDecoder().decode(whole);
  });
}
