import { createRouter, createWebHashHistory } from 'vue-router'

/** The sidebar's entries, in order; each view is its own chunk. */
export const sections = [
  {
    path: '/datasets',
    name: 'datasets',
    title: 'Datasets',
    component: () => import('./views/DatasetsView.vue')
  },
  { path: '/recipes', name: 'recipes', title: 'Recipes', component: () => import('./views/RecipesView.vue') },
  { path: '/runs', name: 'runs', title: 'Runs', component: () => import('./views/RunsView.vue') },
  {
    path: '/compare',
    name: 'compare',
    title: 'Compare runs',
    component: () => import('./views/CompareView.vue')
  },
  {
    path: '/evaluate',
    name: 'evaluate',
    title: 'Evaluate',
    component: () => import('./views/EvaluateView.vue')
  },
  {
    path: '/playground',
    name: 'playground',
    title: 'Playground',
    component: () => import('./views/PlaygroundView.vue')
  },
  { path: '/models', name: 'models', title: 'Models', component: () => import('./views/ModelsView.vue') }
] as const

/** Hash history: the same bundle is loaded from file:// in Electron and over HTTP by the server. */
export function createStudioRouter() {
  return createRouter({
    history: createWebHashHistory(),
    routes: [
      { path: '/', redirect: '/datasets' },
      ...sections.map(({ path, name, title, component }) => ({ path, name, component, meta: { title } })),
      { path: '/:unknown(.*)*', redirect: '/datasets' }
    ]
  })
}
