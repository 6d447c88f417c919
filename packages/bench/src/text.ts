// Payloads shared by the benchmarks.

/** Deterministic JSON-like text of exactly `size` bytes: records with varied values, so it compresses like real data. */
export function jsonLikeText(size: number): string {
  let seed = 0x2545f491;
  const random = (): number => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 2 ** 32;
  };
  const words = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet'];
  const records: string[] = [];
  let length = 2;
  for (let id = 1; length < size; id++) {
    const record = JSON.stringify({
      id,
      user: `user-${Math.floor(random() * 100000)}`,
      email: `${words[id % words.length]}.${Math.floor(random() * 1000)}@example.com`,
      active: random() < 0.5,
      score: Math.round(random() * 100000) / 100,
      tags: [words[Math.floor(random() * words.length)], words[Math.floor(random() * words.length)]],
      updated: new Date(1700000000000 + Math.floor(random() * 1e10)).toISOString(),
    });
    records.push(record);
    length += record.length + 1;
  }
  let text = `[${records.join(',')}]`;
  if (text.length > size) {
    // Cut inside the last record's padding field so the text keeps its shape and exact size.
    text = text.slice(0, size - 2) + '"]';
  }
  return text;
}
