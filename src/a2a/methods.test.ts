import { describe, expect, it } from 'vitest';
import { A2A_ACTIONS } from '../policy/request.ts';
import { a2aMethodOf, actionOf, argumentsOf, isStreaming } from './methods.ts';

describe('A2A methods as Mandate decides them', () => {
  it('maps both protocol versions onto one action per method, and nothing else', () => {
    expect(a2aMethodOf('SendMessage')).toBe('message/send');
    expect(a2aMethodOf('message/send')).toBe('message/send');
    expect(a2aMethodOf('SendStreamingMessage')).toBe('message/stream');
    expect(a2aMethodOf('CreateTaskPushNotificationConfig')).toBe('tasks/pushNotificationConfig/set');
    expect(a2aMethodOf('tasks/pushNotificationConfig/delete')).toBe('tasks/pushNotificationConfig/delete');
    for (const refused of ['ListTasks', 'GetExtendedAgentCard', 'agent/getAuthenticatedExtendedCard', 'tasks/list', 'constructor', '__proto__', 'sendmessage', '']) {
      expect(a2aMethodOf(refused)).toBeUndefined();
    }
    for (const action of A2A_ACTIONS) expect(actionOf(a2aMethodOf(action.slice(4))!)).toBe(action);
    expect(isStreaming('message/stream') && isStreaming('tasks/resubscribe') && !isStreaming('message/send')).toBe(true);
  });

  it('gives policy the message metadata and the task and context it is about, ids beyond the reach of metadata', () => {
    const args = argumentsOf({
      metadata: { tenant: 'acme', customer_id: 'request-level' },
      message: { messageId: 'm1', taskId: 't1', contextId: 'c1', metadata: { customer_id: '42', task_id: 'spoofed' }, parts: [{ text: 'not an argument' }] },
    });
    expect(args).toEqual({ tenant: 'acme', customer_id: '42', task_id: 't1', context_id: 'c1' });
    expect(argumentsOf({ id: 'task-9' })).toEqual({ task_id: 'task-9' });
    expect(argumentsOf({ name: 'tasks/task-7/pushNotificationConfigs/p1' })).toEqual({ task_id: 'task-7' });
    expect(argumentsOf({ message: 'not an object', metadata: ['not', 'a', 'record'] })).toEqual({});
  });
});
