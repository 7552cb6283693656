// A2A protocol (JSON-RPC binding), v1.0 §9 and v0.3 §7 — the methods Mandate forwards, by either name
import { A2A_ACTIONS } from '../policy/request.ts';

export type A2aAction = (typeof A2A_ACTIONS)[number];

/** A method as policy and scope name it: the v0.3 spelling (`message/send`). */
export type A2aMethod = A2aAction extends `a2a:${infer M}` ? M : never;

/**
 * The JSON-RPC methods of both protocol versions a peer may speak, mapped to one method each.
 * Anything else (`ListTasks`, `GetExtendedAgentCard`, `agent/getAuthenticatedExtendedCard`) is
 * refused and never forwarded: listing tasks would reach other callers' tasks, and the card is
 * published by Mandate itself.
 */
const METHODS: ReadonlyMap<string, A2aMethod> = new Map<string, A2aMethod>([
  ['SendMessage', 'message/send'],
  ['SendStreamingMessage', 'message/stream'],
  ['GetTask', 'tasks/get'],
  ['CancelTask', 'tasks/cancel'],
  ['SubscribeToTask', 'tasks/resubscribe'],
  ['CreateTaskPushNotificationConfig', 'tasks/pushNotificationConfig/set'],
  ['GetTaskPushNotificationConfig', 'tasks/pushNotificationConfig/get'],
  ['ListTaskPushNotificationConfigs', 'tasks/pushNotificationConfig/list'],
  ['DeleteTaskPushNotificationConfig', 'tasks/pushNotificationConfig/delete'],
  ...A2A_ACTIONS.map((action) => [action.slice(4), action.slice(4) as A2aMethod] as const),
]);

/** The method a JSON-RPC method name stands for, or undefined when Mandate does not forward it. */
export const a2aMethodOf = (name: string): A2aMethod | undefined => METHODS.get(name);

/** Methods answered as a Server-Sent Events stream (A2A §3.1.2, §3.1.6). */
export const isStreaming = (method: A2aMethod): boolean => method === 'message/stream' || method === 'tasks/resubscribe';

/** The policy action of a method. */
export const actionOf = (method: A2aMethod): A2aAction => `a2a:${method}`;

const text = (value: unknown): string | undefined => (typeof value === 'string' && value.length > 0 ? value.slice(0, 256) : undefined);
const record = (value: unknown): Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};

/**
 * What policy sees of one call, as its arguments: the message's metadata (over the request's
 * own), and the task and context it is about. The ids come last, so metadata cannot spoof them.
 * Digested into the trail like tool arguments (only the ids in clear).
 */
export function argumentsOf(params: Record<string, unknown>): Record<string, unknown> {
  const message = record(params.message);
  const taskId = text(message.taskId) ?? text(params.taskId) ?? text(params.id) ?? taskIdOfName(params.name);
  const contextId = text(message.contextId) ?? text(params.contextId);
  return {
    ...record(params.metadata),
    ...record(message.metadata),
    ...(taskId ? { task_id: taskId } : {}),
    ...(contextId ? { context_id: contextId } : {}),
  };
}

/** v1.0 resource names (`tasks/<id>`, `tasks/<id>/pushNotificationConfigs/<id>`) carry the task id. */
function taskIdOfName(value: unknown): string | undefined {
  const match = typeof value === 'string' ? /^tasks\/([^/]{1,256})/.exec(value) : null;
  return match?.[1];
}

/** Arguments kept in clear in the trail. */
export const CLEAR_ARGUMENTS = ['task_id', 'context_id'] as const;
