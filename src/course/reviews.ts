/** Reviews written for the course, none of them in the IMDB data: one positive, one negative, one lukewarm. */
export const SAMPLE_REVIEWS: readonly string[] = [
  'An absolute delight from start to finish. The cast is wonderful and the story moved me to tears.',
  'Two hours of my life I will never get back. Wooden acting, a plot full of holes, and a dreadful ending.',
  'It was fine. Some scenes worked, others dragged, and I have already forgotten most of it.',
];
