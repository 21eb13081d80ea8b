/** The product's version; a test keeps it equal to package.json's. */
export const APP_VERSION = '0.1.0'
export const PRODUCT_NAME = 'Finetune Studio'
