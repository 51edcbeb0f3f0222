/** How one engine event updates the engine's cache (legacy `Engine.handler`). */
import type { DockerJson } from './cluster-api.ts';
import type { EngineImpl } from './engine.ts';
import { containerEventEffect } from './events.ts';

/**
 * `arrived`: the engine sequence taken when the event arrived; a container inspect that started after
 * it already reflects the event and is reused.
 */
export async function applyEventToCache(engine: EngineImpl, event: DockerJson, arrived?: number): Promise<void> {
  const type = String(event.Type ?? (event.status ? 'container' : ''));
  const action = String(event.Action ?? event.status ?? '');
  const id = String(event.Actor?.ID ?? event.id ?? '');
  switch (type) {
    case 'container':
      switch (containerEventEffect(action)) {
        case 'inspect': return arrived === undefined ? engine.refreshContainer(id) : engine.refreshForEvent(id, arrived, action.split(':')[0].trim());
        case 'remove': engine.drop(id); return;
        case 'images': return engine.refreshImages();
        case 'none':
          // Execs started elsewhere (directly on the engine) can still be routed later.
          if (action.startsWith('exec_create') && event.Actor?.Attributes?.execID) engine.rememberExec(String(event.Actor.Attributes.execID), id);
          return;
        case 'list':
          // Legacy answers other container events with a light refresh (a list that inspects the new
          // ones). For `create` that is an inspect of this one container: the same cache result, and it
          // is shared with the manager's own post-create inspect (a list per create grew with the
          // engine's containers).
          if (action === 'create' && id) return arrived === undefined ? engine.refreshContainer(id) : engine.refreshForEvent(id, arrived, 'create');
          return engine.listContainers(false);
      }
      return;
    case 'image': return engine.refreshImages();
    case 'network': return engine.refreshNetworks();
    case 'volume': return engine.refreshVolumes();
    case 'daemon': return action === 'reload' ? engine.refreshSpecs() : undefined;
    default: return;
  }
}
