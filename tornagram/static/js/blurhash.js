// A small BlurHash decoder (https://blurha.sh, MIT-licensed algorithm), so a photo's colours
// show while it loads. Decodes to a tiny canvas that CSS stretches and blurs.

const DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~";

function decode83(str) {
  let value = 0;
  for (const ch of str) {
    const digit = DIGITS.indexOf(ch);
    if (digit < 0) throw new Error("bad blurhash");
    value = value * 83 + digit;
  }
  return value;
}

const toLinear = (v) => {
  const c = v / 255;
  return c <= 0.04045 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
};
const toSRGB = (v) => {
  const c = Math.max(0, Math.min(1, v));
  return Math.round((c <= 0.0031308 ? c * 12.92 : 1.055 * Math.pow(c, 1 / 2.4) - 0.055) * 255);
};
const signPow = (v, exp) => Math.sign(v) * Math.pow(Math.abs(v), exp);

/** RGBA pixels (Uint8ClampedArray) of a width×height rendering of the hash. */
export function decodeBlurhash(hash, width, height) {
  if (!hash || hash.length < 6) throw new Error("bad blurhash");
  const sizeFlag = decode83(hash[0]);
  const numY = Math.floor(sizeFlag / 9) + 1;
  const numX = (sizeFlag % 9) + 1;
  if (hash.length !== 4 + 2 * numX * numY) throw new Error("bad blurhash length");
  const maxValue = (decode83(hash[1]) + 1) / 166;
  const colors = [];
  const dc = decode83(hash.slice(2, 6));
  colors.push([toLinear(dc >> 16), toLinear((dc >> 8) & 255), toLinear(dc & 255)]);
  for (let i = 1; i < numX * numY; i++) {
    const value = decode83(hash.slice(4 + i * 2, 6 + i * 2));
    const q = (n) => signPow((n - 9) / 9, 2) * maxValue;
    colors.push([q(Math.floor(value / 361)), q(Math.floor(value / 19) % 19), q(value % 19)]);
  }
  const pixels = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let r = 0, g = 0, b = 0;
      for (let j = 0; j < numY; j++) {
        for (let i = 0; i < numX; i++) {
          const basis = Math.cos((Math.PI * x * i) / width) * Math.cos((Math.PI * y * j) / height);
          const color = colors[i + j * numX];
          r += color[0] * basis; g += color[1] * basis; b += color[2] * basis;
        }
      }
      const p = 4 * (x + y * width);
      pixels[p] = toSRGB(r); pixels[p + 1] = toSRGB(g); pixels[p + 2] = toSRGB(b); pixels[p + 3] = 255;
    }
  }
  return pixels;
}

/** A data: URL of the hash rendered at 32×32, for use as a CSS background. */
export function blurhashDataURL(hash) {
  const size = 32;
  const canvas = document.createElement("canvas");
  canvas.width = size; canvas.height = size;
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(size, size);
  image.data.set(decodeBlurhash(hash, size, size));
  ctx.putImageData(image, 0, 0);
  return canvas.toDataURL();
}
