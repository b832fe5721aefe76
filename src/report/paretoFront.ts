/**
 * The Pareto front of points that cost something and score something (higher is better): the points
 * no other point dominates, where j dominates i when `cost_j ≤ cost_i` and `value_j ≥ value_i` with
 * at least one of the two strict. The front is the best value reachable at most at each cost.
 *
 * Ties: points equal in both cost and value dominate neither other, so all of them are on the front;
 * of points with equal cost only the highest value stays, of points with equal value only the cheapest.
 */

/** A point to rank (the caller keeps anything else about it by index). */
export type CostValue = { cost: number; value: number };

/**
 * Indices of the non-dominated points, in increasing cost (then input order among exact ties).
 * `O(n log n)`: sorted by cost ascending and value descending, a point is on the front when its value
 * beats every cheaper point's, or equals the front's last point in both cost and value.
 * @param points finite costs and values (filter out missing ones first).
 */
export function paretoFront(points: CostValue[]): number[] {
  const order = points.map((_, i) => i).sort((a, b) => points[a].cost - points[b].cost || points[b].value - points[a].value || a - b);
  const front: number[] = [];
  for (const i of order) {
    const last = front.at(-1);
    const p = points[i];
    if (last === undefined || p.value > points[last].value || (p.value === points[last].value && p.cost === points[last].cost)) front.push(i);
  }
  return front;
}
