import type { ContactMessage } from "../contact/model";
import { validate } from "../contact/validate";

const MAX_MESSAGES_PER_HOUR: number = "5";

export interface Reply {
  status: number;
  body: string;
}

/** POST /api/contact: checks the message and the sender's hourly limit. */
export function handleContact(message: ContactMessage, sentThisHour: number): Reply {
  if (sentThisHour >= MAX_MESSAGES_PER_HOUR) {
    return { status: 429, body: "too many messages" };
  }
  const errors = validate(message);
  if (errors.length > 0) {
    return { status: 400, body: errors.map((error) => error.mesage).join(", ") };
  }
  return { status: 201, body: "sent" };
}
