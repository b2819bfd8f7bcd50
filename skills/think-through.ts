/**
 * A structured chain of thoughts through the sequential-thinking server: the
 * problem, then each given step as a numbered thought, the last one closing
 * the chain. Returns what the server recorded (its thought history length and
 * branches) and the chain as short lines, instead of one server answer per
 * thought.
 */
export const meta = {
  name: "think-through",
  title: "Think through",
  description:
    "Record a problem and its steps as a numbered chain in the sequential-thinking server; returns the server's history length and the chain.",
  servers: ["sequential-thinking"],
  input: {
    type: "object",
    properties: {
      problem: { type: "string" },
      steps: { type: "array", items: { type: "string" }, minItems: 1, maxItems: 50 },
    },
    required: ["problem", "steps"],
  },
  output: {
    type: "object",
    properties: {
      thoughts: { type: "integer" },
      historyLength: { type: "integer", description: "The server's whole history" },
      branches: { type: "array", items: { type: "string" } },
      chain: { type: "array", items: { type: "string" } },
      conclusion: { type: "string" },
    },
    required: ["thoughts", "historyLength", "branches", "chain", "conclusion"],
  },
  tokenReduction: "~70% on 8 steps",
  examples: [`thinkThrough({ problem: "Why does the form fail?", steps: ["Read the console", "Check the API"] })`],
} as const;

/** Longest line of a thought kept in `chain`. */
const MAX_LINE = 160;

interface Answer {
  thoughtNumber: number;
  thoughtHistoryLength: number;
  branches: string[];
}

export default async function thinkThrough(input: { problem: string; steps: string[] }) {
  const thinking = await import("mcp://sequential-thinking");
  const thoughts = [`Problem: ${input.problem}`, ...input.steps];
  let last: Answer | undefined;
  for (const [index, thought] of thoughts.entries()) {
    last = await thinking.sequentialthinking({
      thought,
      thoughtNumber: index + 1,
      totalThoughts: thoughts.length,
      nextThoughtNeeded: index < thoughts.length - 1,
    });
  }
  return {
    thoughts: thoughts.length,
    historyLength: last!.thoughtHistoryLength,
    branches: last!.branches ?? [],
    chain: thoughts.map((thought, index) => `${index + 1}. ${thought.length > MAX_LINE ? `${thought.slice(0, MAX_LINE)}…` : thought}`),
    conclusion: thoughts[thoughts.length - 1],
  };
}

export { thinkThrough };
