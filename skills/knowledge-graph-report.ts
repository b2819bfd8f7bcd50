/**
 * A summary of the memory server's knowledge graph: how many entities of
 * each type, the most connected entities, the relation types, and the
 * entities nobody relates to or that have no observations. Reading the whole
 * graph directly costs the model every entity and observation; this returns
 * a few numbers and names.
 */
export const meta = {
  name: "knowledge-graph-report",
  title: "Knowledge graph report",
  description:
    "Summarize the memory server's knowledge graph: entity counts by type, the most connected entities, relation types, and orphan or empty entities.",
  servers: ["memory"],
  input: {
    type: "object",
    properties: {
      top: { type: "integer", minimum: 1, maximum: 50, default: 5, description: "How many of the most connected entities to list" },
      query: { type: "string", description: "Only entities matching this search (the memory server's search_nodes)" },
    },
  },
  output: {
    type: "object",
    properties: {
      entities: { type: "integer" },
      relations: { type: "integer" },
      byType: { type: "object", additionalProperties: { type: "integer" } },
      relationTypes: { type: "object", additionalProperties: { type: "integer" } },
      mostConnected: {
        type: "array",
        items: { type: "object", properties: { name: { type: "string" }, links: { type: "integer" } }, required: ["name", "links"] },
      },
      orphans: { type: "array", items: { type: "string" } },
      withoutObservations: { type: "array", items: { type: "string" } },
    },
    required: ["entities", "relations", "byType", "relationTypes", "mostConnected", "orphans", "withoutObservations"],
  },
  tokenReduction: "~95% on a graph of 100 entities",
  examples: [`knowledgeGraphReport({ top: 3 })`, `knowledgeGraphReport({ query: "project" })`],
} as const;

interface Entity {
  name: string;
  entityType: string;
  observations: string[];
}
interface Relation {
  from: string;
  to: string;
  relationType: string;
}
interface Graph {
  entities: Entity[];
  relations: Relation[];
}

/** Most names listed in `orphans` and `withoutObservations`. */
const MAX_LISTED = 20;

function count<T>(items: T[], key: (item: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return counts;
}

export default async function knowledgeGraphReport(input: { top?: number; query?: string }) {
  const top = input.top ?? 5;
  const graph: Graph = input.query
    ? await mcp.call("memory", "search_nodes", { query: input.query })
    : await mcp.call("memory", "read_graph", {});
  const links = new Map<string, number>();
  for (const relation of graph.relations) {
    links.set(relation.from, (links.get(relation.from) ?? 0) + 1);
    links.set(relation.to, (links.get(relation.to) ?? 0) + 1);
  }
  const mostConnected = Array.from(links, ([name, count]) => ({ name, links: count }))
    .sort((a, b) => b.links - a.links || a.name.localeCompare(b.name))
    .slice(0, top);
  return {
    entities: graph.entities.length,
    relations: graph.relations.length,
    byType: count(graph.entities, (entity) => entity.entityType),
    relationTypes: count(graph.relations, (relation) => relation.relationType),
    mostConnected,
    orphans: graph.entities.filter((entity) => !links.has(entity.name)).map((entity) => entity.name).slice(0, MAX_LISTED),
    withoutObservations: graph.entities
      .filter((entity) => entity.observations.length === 0)
      .map((entity) => entity.name)
      .slice(0, MAX_LISTED),
  };
}

export { knowledgeGraphReport };
