import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import type { RecipeInfo } from '../../../src-preload/contract'
import { useApi } from '../api'
import { useToastStore } from './toasts'

/** The recipes the engine knows, as declared in src-main/recipes. */
export const useRecipesStore = defineStore('recipes', () => {
  const api = useApi()
  const toasts = useToastStore()
  const recipes = ref<RecipeInfo[]>([])
  const loaded = ref(false)

  const byName = computed(() => new Map(recipes.value.map((recipe) => [recipe.name, recipe])))

  async function load(): Promise<void> {
    try {
      recipes.value = await api.call('recipes.list', {})
      loaded.value = true
    } catch (error) {
      toasts.showError(error)
    }
  }

  return { recipes, loaded, byName, load }
})
