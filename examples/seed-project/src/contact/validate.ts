import { TOPICS, type ContactMessage, type Topic } from "./model";

export interface ValidationError {
  field: keyof ContactMessage;
  message: string;
}

export function isEmail(address: string): boolean {
  const at = address.indexOf("@");
  return at > 0 && address.includes(".", at);
}

export function isTopic(value: string): value is Topic {
  return TOPICS.includes(value);
}

/** The problems of a message, empty when it can be sent. */
export function validate(message: ContactMessage): ValidationError[] {
  const errors: ValidationError[] = [];
  if (message.name.trim() === "") {
    errors.push({ field: "name", message: "required" });
  }
  if (!isEmail(message.email)) {
    errors.push({ field: "email", message: "not an email address" });
  }
  if (!isTopic(message.topic)) {
    errors.push({ field: "subject", message: "unknown topic" });
  }
  return errors;
}
