/** The cut arithmetic: every part but the last has the planned size, and they tile the file. */
import assert from "node:assert/strict";
import { it } from "node:test";

import { lengthOf, partNumbers, rangeOf } from "../src/parts.js";

it("tiles the file with equal parts and a short last one", () => {
  const cut = { size: 12 * 1024 * 1024 + 5, partSize: 5 * 1024 * 1024, partCount: 3 };
  assert.deepEqual(partNumbers(cut), [1, 2, 3]);
  assert.deepEqual(rangeOf(cut, 1), [0, cut.partSize]);
  assert.deepEqual(rangeOf(cut, 2), [cut.partSize, 2 * cut.partSize]);
  assert.deepEqual(rangeOf(cut, 3), [2 * cut.partSize, cut.size]);
  assert.equal(lengthOf(cut, 3), 2 * 1024 * 1024 + 5);
  const total = partNumbers(cut).reduce((sum, n) => sum + lengthOf(cut, n), 0);
  assert.equal(total, cut.size);
});

it("a file of whole parts ends on a full part", () => {
  const cut = { size: 10, partSize: 5, partCount: 2 };
  assert.equal(lengthOf(cut, 2), 5);
});
