// Lists answer {data, nextCursor}. Queries fetch limit+1 rows: the extra row only tells that a
// next page exists, and the cursor is the last id shown (ids sort by creation time).
export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

export function pageOf<T>(rows: T[], limit: number, key: (t: T) => string = (t) => (t as { id: string }).id): Page<T> {
  const more = rows.length > limit;
  const data = more ? rows.slice(0, limit) : rows;
  return { data, nextCursor: more ? key(data[data.length - 1]) : null };
}
