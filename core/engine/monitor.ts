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
        case 'inspect': return engine.refreshContainer(id, arrived);
        case 'remove': engine.drop(id); return;
        case 'images': return engine.refreshImages();
        case 'none':
          // Execs started elsewhere (directly on the engine) can still be routed later.
          if (action.startsWith('exec_create') && event.Actor?.Attributes?.execID) engine.rememberExec(String(event.Actor.Attributes.execID), id);
          return;
        case 'list':
          // The light refresh is how the cache learns a container made elsewhere; one created through
          // the manager was inspected into the cache already (the list cost grew with the engine's containers).
          if (action === 'create' && engine.hasContainer(id)) return;
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
