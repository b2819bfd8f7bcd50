/** The topics a visitor can pick on the contact form. */
export type Topic = "sales" | "support" | "press";

export const TOPICS: readonly Topic[] = ["sales", "support", "press"];

/** A message sent through the contact form. */
export interface ContactMessage {
  name: string;
  email: string;
  topic: Topic;
  body: string;
  attachments?: string[];
}
