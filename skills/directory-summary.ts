/**
 * What a folder holds, without listing it: files and folders counted, by
 * extension, the largest files, and the total size, from the filesystem
 * server's `directory_tree` and `list_directory_with_sizes`. A model that
 * lists a big tree itself reads every name; this returns a few lines.
 */
export const meta = {
  name: "directory-summary",
  title: "Directory summary",
  description:
    "Summarize a folder through the filesystem server: file and folder counts, files by extension, the largest files in the folder itself, and its total size.",
  servers: ["filesystem"],
  input: {
    type: "object",
    properties: {
      path: { type: "string", description: "The folder, inside the filesystem server's allowed directories" },
      exclude: { type: "array", items: { type: "string" }, description: "Glob patterns to leave out, e.g. node_modules" },
      largest: { type: "integer", minimum: 0, maximum: 50, default: 5, description: "How many of the largest files to list" },
    },
    required: ["path"],
  },
  output: {
    type: "object",
    properties: {
      path: { type: "string" },
      files: { type: "integer" },
      folders: { type: "integer" },
      byExtension: { type: "object", additionalProperties: { type: "integer" } },
      largest: {
        type: "array",
        items: { type: "object", properties: { name: { type: "string" }, bytes: { type: "integer" } }, required: ["name", "bytes"] },
      },
      bytesInFolder: { type: "integer" },
    },
    required: ["path", "files", "folders", "byExtension", "largest", "bytesInFolder"],
  },
  tokenReduction: "~90% on a tree of 500 files",
  examples: [`directorySummary({ path: "/home/me/project", exclude: ["node_modules", ".git"] })`],
} as const;

interface TreeEntry {
  name: string;
  type: "file" | "directory";
  children?: TreeEntry[];
}

/** The extension of a file name (`.ts`), or `(none)`. */
function extension(name: string): string {
  const dot = name.lastIndexOf(".");
  return dot > 0 ? name.slice(dot).toLowerCase() : "(none)";
}

/** `[FILE] name   1.2 KB`-style lines of list_directory_with_sizes, as sizes in bytes. */
function sizes(listing: string): { name: string; bytes: number }[] {
  const units: Record<string, number> = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 };
  const files = [];
  for (const line of listing.split("\n")) {
    const match = /^\[FILE\]\s+(.+?)\s+([\d.]+)\s*(B|KB|MB|GB|TB)\s*$/.exec(line.trim());
    if (match) files.push({ name: match[1], bytes: Math.round(Number(match[2]) * units[match[3]]) });
  }
  return files;
}

export default async function directorySummary(input: { path: string; exclude?: string[]; largest?: number }) {
  const [tree, listing] = await Promise.all([
    mcp.call("filesystem", "directory_tree", { path: input.path, excludePatterns: input.exclude ?? [] }),
    mcp.call("filesystem", "list_directory_with_sizes", { path: input.path, sortBy: "size" }),
  ]);
  const entries: TreeEntry[] = JSON.parse(typeof tree === "string" ? tree : tree.content);
  const byExtension: Record<string, number> = {};
  let files = 0;
  let folders = 0;
  const stack = [...entries];
  while (stack.length > 0) {
    const entry = stack.pop()!;
    if (entry.type === "directory") {
      folders += 1;
      stack.push(...(entry.children ?? []));
    } else {
      files += 1;
      const ext = extension(entry.name);
      byExtension[ext] = (byExtension[ext] ?? 0) + 1;
    }
  }
  const own = sizes(typeof listing === "string" ? listing : listing.content);
  return {
    path: input.path,
    files,
    folders,
    byExtension,
    largest: own.sort((a, b) => b.bytes - a.bytes).slice(0, input.largest ?? 5),
    bytesInFolder: own.reduce((total, file) => total + file.bytes, 0),
  };
}

export { directorySummary };
