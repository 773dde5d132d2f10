import { attributeChanges, attributeList } from './elbv2-attributes';
import { configError, requireListener, validationError } from './elbv2-common';
import { noteAttributesWritten, reportedListenerAttributes } from './fidelity';
import type { Handler } from './service';
import type { Listener } from './state';

/**
 * Listener attributes of Network Load Balancers (ListenerAttribute in the ELBv2 API
 * reference): `tcp.idle_timeout.seconds`, 60–6000, default 350. Only TCP listeners have
 * it: "The connection idle timeout for TLS listeners is 350 seconds and can't be
 * modified", and the console shows the attribute for TCP listeners only (NLB guide,
 * "Update the TCP idle timeout"). Other listeners report no attributes.
 */
const IDLE_TIMEOUT = 'tcp.idle_timeout.seconds';
export const DEFAULT_IDLE_TIMEOUT = '350';

export function defaultListenerAttributes(): Map<string, string> {
  return new Map([[IDLE_TIMEOUT, DEFAULT_IDLE_TIMEOUT]]);
}

function effective(listener: Listener): Map<string, string> {
  if (listener.protocol !== 'TCP') return new Map();
  return new Map([[IDLE_TIMEOUT, listener.attributes?.get(IDLE_TIMEOUT) ?? DEFAULT_IDLE_TIMEOUT]]);
}

export const describeListenerAttributes: Handler = ({ state, params }) => {
  const listener = requireListener(state, params.required('ListenerArn'));
  return { Attributes: reportedListenerAttributes(state, listener, attributeList(effective(listener))) };
};

export const modifyListenerAttributes: Handler = ({ state, params }) => {
  const listener = requireListener(state, params.required('ListenerArn'));
  const changes = attributeChanges(params);
  for (const [key, value] of changes) {
    if (key !== IDLE_TIMEOUT) throw validationError(`Listener attribute key '${key}' is not recognized`);
    if (!/^\d+$/.test(value) || Number(value) < 60 || Number(value) > 6000) {
      throw validationError(`Listener attribute '${key}' value '${value}' is not valid: it must be an integer from 60 to 6000`);
    }
    if (listener.protocol !== 'TCP') throw configError(`Listener attribute '${key}' can be modified only for TCP listeners; this listener's protocol is '${listener.protocol}'`);
  }
  const attributes = listener.attributes ?? defaultListenerAttributes();
  for (const [key, value] of changes) attributes.set(key, value);
  if (!listener.attributes) Object.assign(listener, { attributes });
  noteAttributesWritten(listener, changes.map(([key]) => key));
  return { Attributes: reportedListenerAttributes(state, listener, attributeList(effective(listener))) };
};
