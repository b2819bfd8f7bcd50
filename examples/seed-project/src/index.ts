import { handleContact } from "./api/contact";
import { TOPICS } from "./contact/model";

export function demo(): string {
  const reply = handleContact({ name: "Ada", email: "ada@example.org", topic: "sales", body: "Hello" }, 0);
  return `${reply.status} ${reply.body}`;
}
