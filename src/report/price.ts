/** The hourly price one worker is charged at (the report's cost estimate), and where that number comes from. */
export interface Price {
  perHour: number;
  currency: string;
  /** Shown next to the figures, e.g. "AWS EC2 t3.micro, Linux on-demand, us-east-1 (USD 0.0104/h, AWS price list as of 2024)". */
  source: string;
}

/**
 * One small cloud instance per worker: AWS EC2 t3.micro (2 vCPU, 1 GiB),
 * Linux, on-demand, us-east-1, USD 0.0104 per hour — AWS's published
 * on-demand price list, the same figure since t3 launched in 2017 and as of
 * 2024 (the last time it was checked for this tool; prices change, pass
 * --price-per-hour for yours).
 */
export const DEFAULT_PRICE: Price = {
  perHour: 0.0104,
  currency: 'USD',
  source: 'AWS EC2 t3.micro (2 vCPU, 1 GiB), Linux on-demand, region us-east-1: USD 0.0104 per hour, from AWS’s published on-demand price list as of 2024 (not fetched at run time; pass --price-per-hour for your provider)',
};
