import { createPinia } from 'pinia'
import { createApp } from 'vue'
import { useApi } from './api'
import App from './App.vue'
import { createStudioRouter } from './router'
import './styles.css'

// Before the router reads the address: the browser transport takes the access token out of it.
useApi()

createApp(App).use(createPinia()).use(createStudioRouter()).mount('#app')
